"""The weekend pre-warm: the last 5 sessions stored, the warm-up state saved, and a second run changes nothing."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import psycopg

from shared.bars.store import datetime_to_ms
from shared.massive.rest import MassiveRest
from shared.signals.prewarm import Prewarm, window_start
from tests.fakes.massive_rest import FakeMassiveRest, minute_bars

FRIDAY_AFTER_CLOSE = datetime(2026, 11, 27, 21, 30, tzinfo=UTC)  # early close at 13:00 New York
FIRST_OPEN = datetime(2026, 11, 20, 14, 30, tzinfo=UTC)  # five sessions back: Friday 2026-11-20 09:30


def snapshot(db: psycopg.Connection[Any]) -> tuple[list[Any], list[Any]]:
    bars = db.execute("select * from historical_bars order by symbol, timeframe, ts").fetchall()
    states = db.execute("select * from indicator_state order by symbol, timeframe").fetchall()
    return bars, states


def seed_week(massive: FakeMassiveRest) -> None:
    start = datetime_to_ms(FIRST_OPEN)
    end = datetime_to_ms(FRIDAY_AFTER_CLOSE)
    shapes = ((1, "minute", 60_000), (5, "minute", 300_000), (15, "minute", 900_000), (1, "hour", 3_600_000))
    for multiplier, timespan, step in (*shapes, (1, "day", 86_400_000)):
        # 100 bars before the window too, which the pre-warm must not fetch.
        count = (end - start) // step + 100
        massive.add_bars("SPY", multiplier, timespan, minute_bars(start - 100 * step, count, step_ms=step))


def test_the_window_is_the_last_five_sessions() -> None:
    assert window_start(FRIDAY_AFTER_CLOSE) == FIRST_OPEN


def test_prewarm_stores_five_sessions_and_a_warm_state_per_timeframe(
    db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    seed_week(massive)
    db.execute("insert into watchlist (user_id, symbol) values (%s, 'SPY')", (uuid.uuid4(),))
    counts = Prewarm(rest, now=lambda: FRIDAY_AFTER_CLOSE).run()
    assert counts["fetches"] == 5 and counts["states_changed"] == 5
    first = db.execute("select min(ts) from historical_bars where timeframe = '1m'").fetchone()
    assert first is not None and first[0] == FIRST_OPEN  # nothing older was fetched
    states = {row[0]: row[1] for row in db.execute("select timeframe, state from indicator_state").fetchall()}
    assert set(states) == {"1m", "5m", "15m", "1h", "1d"}
    assert states["1m"]["ema"]["50"] is not None
    assert states["1m"]["next_session_open_t"] == datetime_to_ms(datetime(2026, 11, 30, 14, 30, tzinfo=UTC))


def test_a_second_prewarm_changes_nothing(
    db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    seed_week(massive)
    db.execute("insert into watchlist (user_id, symbol) values (%s, 'SPY')", (uuid.uuid4(),))
    Prewarm(rest, now=lambda: FRIDAY_AFTER_CLOSE).run()
    before = snapshot(db)
    again = Prewarm(rest, now=lambda: FRIDAY_AFTER_CLOSE).run()
    assert again["bars_written"] == 0 and again["states_changed"] == 0
    assert snapshot(db) == before
