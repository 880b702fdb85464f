"""`python -m functions run <job>`: a person runs a job from a terminal, as the schedule would."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import time
import uuid
from typing import Any

import psycopg
import pytest

from shared.jobs.progress import TerminalProgress
from tests.conftest import repo_path
from tests.fakes.massive_rest import FakeMassiveRest, minute_bars

AN_HOUR_AGO_MS = (int(time.time()) - 3600) // 60 * 60_000


def run_command(database_url: str, massive: FakeMassiveRest, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MASSIVE_REST_URL": massive.url,
        "MASSIVE_API_KEY": "test-key",
        "LOG_FORMAT": "json",
    }
    return subprocess.run(
        [sys.executable, "-m", "functions", "run", *args],
        capture_output=True, text=True, env=env, cwd=repo_path(), timeout=60, check=False,
    )


# The job runs in a subprocess on the real clock, and the bars are "an hour ago" on the session's.
@pytest.mark.real_clock
def test_run_ingest_forced_for_named_symbols_prints_its_summary(
    database_url: str, db: psycopg.Connection[Any], massive: FakeMassiveRest
) -> None:
    massive.add_bars("QQQ", 1, "minute", minute_bars(AN_HOUR_AGO_MS, 3))
    result = run_command(database_url, massive, "ingest", "--force", "--symbols", "QQQ")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["job"] == "ingest" and summary["status"] == "ok"
    assert summary["counts"]["backfilled"] == 1
    assert "test-key" not in result.stderr + result.stdout
    assert db.execute("select status from job_heartbeats").fetchall() == [("ok",)]
    assert db.execute("select count(*) from historical_bars where symbol = 'QQQ'").fetchone() == (3,)


def test_a_failed_run_exits_1_with_the_error(
    database_url: str, db: psycopg.Connection[Any], massive: FakeMassiveRest
) -> None:
    db.execute("insert into watchlist (user_id, symbol) values (%s, 'SPY')", (uuid.uuid4(),))
    massive.keys = {"another-key"}
    result = run_command(database_url, massive, "prewarm")
    assert result.returncode == 1
    assert "lacks entitlement" in json.loads(result.stdout)["error"]


def test_an_unknown_job_is_refused() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "functions", "run", "nope"], capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 2
    assert "invalid choice: 'nope'" in result.stderr


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_log_lines_otherwise(caplog: pytest.LogCaptureFixture) -> None:
    terminal = Tty()
    bar = TerminalProgress("ingest", total=2, stream=terminal)
    bar("SPY 1m")
    bar("SPY 5m")
    bar.close()
    assert "2/2" in terminal.getvalue()
    caplog.set_level(logging.INFO)
    plain = io.StringIO()
    lines = TerminalProgress("ingest", log_every=1, stream=plain)
    lines("SPY 1m")
    assert plain.getvalue() == ""
    assert [r.getMessage() for r in caplog.records] == ["job progress"]


def test_a_run_that_finds_nothing_says_why_in_one_line() -> None:
    from functions.__main__ import nothing_found

    assert nothing_found("scanner", "skipped", "market closed", {}) == "skipped: market closed (--force runs it anyway)"
    empty = nothing_found("ingest", "ok", None, {"symbols": 0})
    assert empty is not None and "watchlists are empty" in empty
    stale = nothing_found("scanner", "ok", None, {"symbols": 2, "stale": 2, "signals": 0})
    assert stale is not None and "market closed" in stale and "--replay" in stale
    assert nothing_found("scanner", "ok", None, {"symbols": 2, "stale": 0, "signals": 0}) == (
        "0 signals: no detector fired on the latest bars"
    )
    assert nothing_found("scanner", "ok", None, {"symbols": 2, "signals": 3}) is None
    assert nothing_found("ingest", "ok", None, {"symbols": 2, "bars_written": 0}) is None


def test_a_terminal_bar_shows_a_total_once_the_job_expects_one() -> None:
    from shared.jobs.progress import expect

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    stream = Tty()
    progress = TerminalProgress("ingest", stream=stream)
    expect(progress, 4)
    progress("SPY 1m: 0 bars")
    progress.close()
    assert "1/4" in stream.getvalue() and "25%" in stream.getvalue()
    expect(lambda label: None, 3)  # any Progress: a plain callable ignores the total


@pytest.mark.real_clock
def test_the_seeds_worker_names_run_our_jobs(
    database_url: str, db: psycopg.Connection[Any], massive: FakeMassiveRest
) -> None:
    massive.add_bars("QQQ", 1, "minute", minute_bars(AN_HOUR_AGO_MS, 3))
    ingestion = run_command(database_url, massive, "ingestion", "--force", "--symbols", "QQQ")
    assert ingestion.returncode == 0, ingestion.stderr
    assert json.loads(ingestion.stdout)["job"] == "ingest"
    composite = run_command(database_url, massive, "composite", "--force", "--symbols", "QQQ")
    assert composite.returncode == 0, composite.stderr
    assert json.loads(composite.stdout)["job"] == "scanner"
    assert db.execute("select job from job_heartbeats order by id").fetchall() == [("ingest",), ("scanner",)]
