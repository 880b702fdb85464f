"""Presets and the per-action default field toggles."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.alerts.presets import ACTION_DEFAULTS, ALERT_ACTIONS, FIELD_KEYS, presets_document, resolve_fields


def _on(toggles: Mapping[Any, bool]) -> set[str]:
    return {key for key, value in toggles.items() if value}


def test_every_alert_action_has_defaults() -> None:
    assert set(ACTION_DEFAULTS) == set(ALERT_ACTIONS)


def test_load_shows_current_target_stop_rr_greeks_underlying_and_setup() -> None:
    shown = _on(resolve_fields("load", None, None))
    assert {"current", "target", "stop", "risk_reward", "greeks", "underlying", "setup"} <= shown
    assert "entry" not in shown


def test_enter_adds_the_entry_and_the_challenge_line_to_what_load_shows() -> None:
    assert _on(resolve_fields("enter", None, None)) == _on(resolve_fields("load", None, None)) | {"entry", "challenge"}


def test_stop_moves_show_stop_and_pnl() -> None:
    for action in ("update_sl", "trail_stop"):
        assert {"stop", "pnl"} <= _on(resolve_fields(action, None, None))


def test_trim_and_add_show_current_and_pnl() -> None:
    for action in ("trim", "add"):
        assert {"current", "pnl"} <= _on(resolve_fields(action, None, None))


def test_exit_shows_entry_exit_and_pnl() -> None:
    assert {"entry", "exit", "pnl"} <= _on(resolve_fields("exit", None, None))


def test_full_shows_every_field() -> None:
    assert _on(resolve_fields("trim", "full", None)) == set(FIELD_KEYS)


def test_minimal_shows_entry_target_stop_and_dte() -> None:
    assert _on(resolve_fields("load", "minimal", None)) == {"entry", "target", "stop", "dte"}


def test_scalp_is_full_without_greeks_and_confluence() -> None:
    assert _on(resolve_fields("enter", "scalp", None)) == set(FIELD_KEYS) - {"greeks", "confluence"}


def test_the_admins_toggles_override_the_preset() -> None:
    shown = _on(resolve_fields("load", "minimal", {"notes": True, "stop": False}))
    assert shown == {"entry", "target", "dte", "notes"}


def test_the_presets_document_lists_fields_presets_and_defaults() -> None:
    document = presets_document()
    assert document["fields"] == list(FIELD_KEYS)
    assert set(document["presets"]) == {"full", "minimal", "scalp"}
    assert set(document["defaults"]) == set(ALERT_ACTIONS)
