"""The gamma job against a hostile Massive over real sockets: it ends in its budget, failed with the reason."""

from __future__ import annotations

import resource
import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from shared.config import get_settings
from tests.fakes.hostile_massive import HostileMassiveRest, HostileMassiveServer
from tests.gamma.test_gamma_job import small_spy_chain


@pytest.fixture
def hostile_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[HostileMassiveRest]:
    with HostileMassiveServer() as server:
        monkeypatch.setenv("MASSIVE_REST_URL", server.url)
        monkeypatch.setenv("MASSIVE_API_KEY", "test-key")
        get_settings.cache_clear()
        yield server.fake
    get_settings.cache_clear()


def heartbeat(db: psycopg.Connection[Any]) -> tuple[str, dict[str, int], str | None, int]:
    row = db.execute(
        "select status, counts, error, duration_ms from job_heartbeats where job = 'gamma' order by started_at desc"
    ).fetchone()
    assert row is not None
    return row[0], row[1], row[2], row[3]


def test_retry_after_zero_forever_ends_the_run_failed_within_its_budget(
    settings: Any, db: psycopg.Connection[Any], hostile_env: HostileMassiveRest
) -> None:
    from functions.jobs.gamma import run

    hostile_env.retry_after = "0"
    hostile_env.fail_next(429, times=10_000)
    started = time.monotonic()
    result = run(force=True, symbols=["SPY", "QQQ"], budget_s=3.0)
    elapsed = time.monotonic() - started
    status, counts, error, duration_ms = heartbeat(db)
    assert (result.status, status) == ("failed", "failed")
    # SPY: a 429, a 2 s wait, a 429, and the next 4 s wait would pass the deadline; QQQ's first wait too.
    assert error is not None and "out of time for the option chain snapshot of SPY" in error
    assert "QQQ: out of time" in error
    assert (counts["symbols"], counts["snapshots"], counts["failed"]) == (2, 0, 2)
    assert len(hostile_env.requests_to("/v3/")) == 3  # not 450 requests at full speed
    assert elapsed < 3.5 and duration_ms < 3500
    assert db.execute("select count(*) from gamma_snapshots").fetchone() == (0,)


def test_a_trickled_chain_ends_the_run_failed_at_its_deadline(
    settings: Any, db: psycopg.Connection[Any], hostile_env: HostileMassiveRest
) -> None:
    from functions.jobs.gamma import run

    hostile_env.chains["SPY"] = small_spy_chain()
    hostile_env.trickle_s = 0.05  # ~2 KB a byte at a time: ~100 s, every byte well inside the read timeout
    started = time.monotonic()
    result = run(force=True, symbols=["SPY"], budget_s=1.5)
    assert time.monotonic() - started < 2.5
    status, _, error, _ = heartbeat(db)
    assert (result.status, status) == ("failed", "failed")
    assert error is not None and "still arriving" in error


def test_a_redirected_chain_is_not_stored(
    settings: Any, db: psycopg.Connection[Any], hostile_env: HostileMassiveRest
) -> None:
    from functions.jobs.gamma import run

    with HostileMassiveServer() as elsewhere:
        elsewhere.fake.chains["SPY"] = small_spy_chain()
        hostile_env.redirect_to = f"{elsewhere.url}/v3/snapshot/options/SPY"
        result = run(force=True, symbols=["SPY"], budget_s=10.0)
    assert result.status == "failed" and "redirect" in (result.error or "")
    assert elsewhere.fake.seen == []
    assert db.execute("select count(*) from gamma_snapshots").fetchone() == (0,)


def test_an_endless_cursor_fails_the_symbol_with_a_clear_error(
    settings: Any, db: psycopg.Connection[Any], hostile_env: HostileMassiveRest, monkeypatch: pytest.MonkeyPatch
) -> None:
    from functions.jobs.gamma import run
    from shared.massive import rest

    monkeypatch.setattr(rest, "MAX_PAGES", 30)
    hostile_env.chains["SPY"] = small_spy_chain()
    hostile_env.endless_cursor = True
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    result = run(force=True, symbols=["SPY"], budget_s=10.0)
    assert result.status == "failed"
    assert "more than 30 pages; refused as a server loop" in (result.error or "")
    assert len(hostile_env.requests_to("/v3/snapshot/options/SPY")) == 30
    # Peak memory barely moves: pages are reduced as they come, never kept (KB on Linux).
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 50_000
