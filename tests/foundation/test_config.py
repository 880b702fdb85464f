"""Settings: variable names, the predecessor's aliases, and one clear line for a bad value."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from shared.config import ConfigError, Settings, load_settings
from tests.conftest import repo_path


def test_predecessor_vite_names_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VITE_SUPABASE_URL", "https://abc.supabase.co")
    monkeypatch.setenv("VITE_SUPABASE_ANON_KEY", "anon-key")
    monkeypatch.setenv("VITE_MASSIVE_PROXY_TOKEN", "proxy-secret")
    settings = load_settings()
    assert str(settings.supabase_url) == "https://abc.supabase.co/"
    assert settings.supabase_anon_key is not None
    assert settings.supabase_anon_key.get_secret_value() == "anon-key"
    assert settings.massive_proxy_token is not None
    assert settings.massive_proxy_token.get_secret_value() == "proxy-secret"


def test_new_names_win_over_the_aliases(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VITE_SUPABASE_URL", "https://old.supabase.co")
    monkeypatch.setenv("SUPABASE_URL", "https://new.supabase.co")
    assert str(load_settings().supabase_url) == "https://new.supabase.co/"


def test_defaults_need_no_variables() -> None:
    settings = load_settings()
    assert settings.max_ws_connections == 5
    assert settings.port == 8000
    assert settings.log_format == "text"  # set by the test environment


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("MAX_WS_CONNECTIONS", "five"),
        ("MAX_WS_CONNECTIONS", "0"),
        ("SUPABASE_URL", "not a url"),
        ("DATABASE_URL", "mysql://localhost/db"),
        ("LOG_FORMAT", "xml"),
        ("PORT", "99999"),
        # The client pins /v10 itself; a versioned base would double it.
        ("DISCORD_API_BASE", "https://discord.com/api/v9"),
    ],
)
def test_a_bad_value_is_refused_naming_the_variable(monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        load_settings()
    message = str(caught.value.code)
    assert message.startswith(f"config error: {name}:")
    assert "\n" not in message


def test_a_bad_value_stops_start_up_with_one_line_and_no_traceback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAX_WS_CONNECTIONS", "lots")
    result = subprocess.run(
        [sys.executable, "-m", "functions", "token"], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines == [lines[0]]
    assert lines[0].startswith("config error: MAX_WS_CONNECTIONS:")
    assert "Traceback" not in result.stderr


def test_env_example_copied_to_env_gives_the_same_settings_as_no_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The README's first step: `cp .env.example .env`. Every empty line means unset, so nothing changes.
    shutil.copy(repo_path(".env.example"), tmp_path / ".env")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HONEYDRIP_IGNORE_ENV_FILES")
    with_example = Settings()
    without = Settings(_env_file=None)
    assert with_example.model_dump() == without.model_dump()
    # DISCORD_API_BASE is not set by it: make dev keeps the console sink.
    assert "discord_api_base" not in with_example.model_fields_set


@pytest.mark.parametrize(
    ("name", "field"),
    [("DATABASE_URL", "database_url"), ("SUPABASE_URL", "supabase_url"), ("SUPABASE_JWT_SECRET", "supabase_jwt_secret"),
     ("MASSIVE_API_KEY", "massive_api_key"), ("DISCORD_API_BASE", "discord_api_base"), ("PORT", "port")],
)
def test_an_empty_or_blank_value_means_unset(monkeypatch: pytest.MonkeyPatch, name: str, field: str) -> None:
    for value in ("", "   "):
        monkeypatch.setenv(name, value)
        settings = load_settings()
        assert field not in settings.model_fields_set
        assert getattr(settings, field) == Settings.model_fields[field].default


def test_an_empty_line_in_env_does_not_hide_the_generated_dev_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / ".local").mkdir()
    (tmp_path / ".local" / "dev.env").write_text("SUPABASE_JWT_SECRET=generated-by-make-dev\n")
    shutil.copy(repo_path(".env.example"), tmp_path / ".env")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("HONEYDRIP_IGNORE_ENV_FILES")
    monkeypatch.delenv("SUPABASE_JWT_SECRET", raising=False)
    secret = Settings().supabase_jwt_secret
    assert secret is not None and secret.get_secret_value() == "generated-by-make-dev"
