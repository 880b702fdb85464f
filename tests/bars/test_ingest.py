"""Historical ingestion against the fake Massive REST server and the test database."""

from __future__ import annotations

import itertools
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from shared.bars.ingest import Ingestor
from shared.bars.store import datetime_to_ms
from shared.jobs import PartialFailure
from shared.massive.rest import MassiveRest
from tests.fakes.massive_rest import FakeMassiveRest, minute_bars

NOW = datetime(2026, 11, 25, 20, 0, tzinfo=UTC)  # Wednesday 15:00 New York
NOW_MS = datetime_to_ms(NOW)
STEPS = {"minute": 60_000, "hour": 3_600_000, "day": 86_400_000}


def seed(massive: FakeMassiveRest, ticker: str, *, end_ms: int = NOW_MS, minutes: int = 30) -> None:
    """Bars for every timeframe ending at `end_ms`: a few of each, 1d reaching 60 days back."""
    shapes = ((1, "minute", minutes), (5, "minute", 12), (15, "minute", 8), (1, "hour", 5), (1, "day", 60))
    for multiplier, timespan, count in shapes:
        step = multiplier * STEPS[timespan]
        massive.add_bars(ticker, multiplier, timespan, minute_bars(end_ms - count * step, count, step_ms=step))


def watch(db: psycopg.Connection[Any], *symbols: str) -> None:
    user = uuid.uuid4()
    for symbol in symbols:
        db.execute("insert into watchlist (user_id, symbol) values (%s, %s)", (user, symbol))


def queue_row(db: psycopg.Connection[Any], symbol: str) -> dict[str, Any]:
    row = db.execute(
        "select status, attempts, last_error from ingestion_queue where symbol = %s", (symbol,)
    ).fetchone()
    assert row is not None
    return {"status": row[0], "attempts": row[1], "last_error": row[2]}


def bar_counts(db: psycopg.Connection[Any], symbol: str) -> dict[str, int]:
    rows = db.execute(
        "select timeframe, count(*) from historical_bars where symbol = %s group by timeframe", (symbol,)
    ).fetchall()
    return {tf: n for tf, n in rows}


def ingestor(rest: MassiveRest, now: datetime = NOW, **kwargs: Any) -> Ingestor:
    return Ingestor(rest, deadline=float("inf"), now=lambda: now, **kwargs)


def test_a_new_watchlist_symbol_is_queued_and_backfilled_90_days_on_every_timeframe(
    db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    seed(massive, "SPY")
    watch(db, "SPY")
    counts = ingestor(rest).run()
    assert counts.backfilled == 1
    assert queue_row(db, "SPY")["status"] == "done"
    assert bar_counts(db, "SPY") == {"1m": 30, "5m": 12, "15m": 8, "1h": 5, "1d": 60}
    starts = {s.path.split("/")[6] + s.path.split("/")[7]: int(s.path.split("/")[8]) for s in massive.seen}
    assert set(starts.values()) == {datetime_to_ms(NOW - timedelta(days=90))}
    assert len(starts) == 5  # 1minute 5minute 15minute 1hour 1day: Massive's own aggregates each


def test_every_page_is_stored(db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest) -> None:
    massive.page_size = 4
    seed(massive, "QQQ", minutes=45)
    watch(db, "QQQ")
    ingestor(rest).run()
    assert bar_counts(db, "QQQ")["1m"] == 45


def test_an_incremental_run_fetches_only_from_the_last_stored_bar(
    db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    seed(massive, "SPY")
    watch(db, "SPY")
    ingestor(rest).run()
    later = NOW + timedelta(minutes=15)
    massive.add_bars("SPY", 1, "minute", minute_bars(NOW_MS, 15))
    massive.seen.clear()
    counts = ingestor(rest, later).run()
    minute_calls = [s for s in massive.seen if "/range/1/minute/" in s.path]
    assert [int(s.path.split("/")[8]) for s in minute_calls] == [NOW_MS - 60_000]  # the last stored bar's start
    assert counts.bars_written == 15  # the refetched last bar was unchanged: not rewritten
    assert counts.backfilled == 0
    assert bar_counts(db, "SPY")["1m"] == 45


def test_a_second_run_with_nothing_new_writes_nothing(
    db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    seed(massive, "SPY")
    watch(db, "SPY")
    ingestor(rest).run()
    assert ingestor(rest).run().bars_written == 0


def test_a_row_stuck_in_processing_for_over_30_minutes_is_reclaimed(
    db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    seed(massive, "SPY")
    seed(massive, "QQQ")
    watch(db, "SPY", "QQQ")
    db.execute(
        "insert into ingestion_queue (symbol, status, attempts, claimed_at) values"
        " ('SPY', 'processing', 1, %s), ('QQQ', 'processing', 1, %s)",
        (NOW - timedelta(minutes=31), NOW - timedelta(minutes=5)),
    )
    counts = ingestor(rest).run()
    assert counts.reclaimed == 1
    assert queue_row(db, "SPY")["status"] == "done"
    assert queue_row(db, "QQQ")["status"] == "processing"  # a live run may still own it


def test_a_failing_backfill_is_retried_three_times_then_stays_failed_with_its_error(
    db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    massive.forbidden_prefixes.add("/v2/aggs/ticker/TSLA/")
    watch(db, "TSLA")
    seen = []
    for _ in range(4):
        ingestor(rest).run()
        seen.append(queue_row(db, "TSLA"))
    assert [s["status"] for s in seen] == ["queued", "queued", "failed", "failed"]
    assert seen[-1]["attempts"] == 3
    assert "lacks entitlement for 1 minute aggregates of TSLA" in seen[-1]["last_error"]
    assert len(massive.requests_to("/v2/aggs/ticker/TSLA/")) == 3  # a failed row is not tried again


def test_the_backfill_stops_at_the_run_budget_and_resumes_next_run(
    db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    seed(massive, "SPY")
    watch(db, "SPY")
    ticks = itertools.count()
    # Each budget check costs 10 s of a 35 s budget: the first run gets three timeframes in.
    first = ingestor(rest, clock=lambda: 10.0 * next(ticks), margin_s=0.0)
    first.deadline = 35.0
    counts = first.run()
    assert counts.deferred == 1
    assert queue_row(db, "SPY") == {"status": "queued", "attempts": 0, "last_error": None}
    assert bar_counts(db, "SPY") == {"1m": 30, "5m": 12, "15m": 8}
    massive.seen.clear()
    assert ingestor(rest).run().backfilled == 1
    assert bar_counts(db, "SPY") == {"1m": 30, "5m": 12, "15m": 8, "1h": 5, "1d": 60}


def test_an_incremental_failure_fails_the_run_naming_the_symbol(
    db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    seed(massive, "SPY")
    watch(db, "SPY")
    ingestor(rest).run()
    massive.forbidden_prefixes.add("/v2/aggs/ticker/SPY/")
    with pytest.raises(PartialFailure, match="SPY: the Massive key lacks entitlement"):
        ingestor(rest).run()


def test_symbols_named_on_the_command_line_are_ingested_alone(
    db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    seed(massive, "SPY")
    seed(massive, "I:SPX")
    watch(db, "SPY")
    ingestor(rest).run(["spx"])
    assert bar_counts(db, "I:SPX")["1m"] == 30
    assert bar_counts(db, "SPY") == {}


def test_a_bar_massive_sends_twice_is_stored_once(db: psycopg.Connection[Any], settings: Any) -> None:
    from shared.bars.store import upsert_bars
    from shared.db import service_tx
    from shared.massive.models import Bar

    bar = Bar(t=NOW_MS, o=1, h=2, l=0.5, c=1.5, v=10)
    with service_tx() as conn:
        assert upsert_bars(conn, "SPY", "1m", [bar, bar, bar.model_copy(update={"t": NOW_MS + 60_000})]) == 2
    assert bar_counts(db, "SPY") == {"1m": 2}


def test_a_fetch_never_reaches_back_further_than_the_backfill_horizon() -> None:
    from shared.bars.ingest import fetch_start

    assert fetch_start(None, NOW) == NOW - timedelta(days=90)
    assert fetch_start(NOW - timedelta(days=400), NOW) == NOW - timedelta(days=90)
    assert fetch_start(NOW - timedelta(minutes=3), NOW) == NOW - timedelta(minutes=3)
