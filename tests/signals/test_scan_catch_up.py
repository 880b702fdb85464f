"""The scan catches up: every closed bar since a symbol's watermark is evaluated, so no minute is lost."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest

from shared.jobs import PartialFailure
from shared.massive.rest import MassiveRest
from shared.signals.scanner import Scanner, bars_to_evaluate
from tests.fakes.discord import FakeDiscord
from tests.fakes.massive_rest import FakeMassiveRest
from tests.signals.synthetic import MINUTE, bar, today_minutes
from tests.signals.test_scanner import BREAKOUT, FLAT, OPEN, fake_discord, setup

__all__ = ["fake_discord", "setup"]

CALM = bar(0, 101.0, h=101.1, lo=100.9, v=1000)
BAR_25 = datetime.fromtimestamp((OPEN + 25 * MINUTE) / 1000, tz=UTC)


def at_minute(minute: int) -> datetime:
    """26 seconds into `minute` of today's session: minute - 1 is the last closed bar."""
    return datetime.fromtimestamp((OPEN + minute * MINUTE + 26_000) / 1000, tz=UTC)


def scan(rest: MassiveRest, minute: int, **kwargs: Any) -> Any:
    return Scanner(rest, now=lambda: at_minute(minute), **kwargs).run()


def breakout_then_calm(massive: FakeMassiveRest) -> None:
    # The breakout closes at minute 25; minutes 26-28 stay below its high, so none is a breakout itself.
    massive.bars[("AAPL", 1, "minute")] = today_minutes([*FLAT, BREAKOUT, CALM, CALM, CALM])


def rows(db: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    return db.execute(
        # The admin with a signals channel is alerted, the other is not; user ids are random, so not by them.
        "select detector, bar_time, status, alerted_at is not null from composite_signals"
        " order by alerted_at is not null desc"
    ).fetchall()


def test_the_first_scan_of_a_symbol_looks_back_fifteen_minutes() -> None:
    now = at_minute(26)  # 26 s into minute 26: starts from 11:26 on are within 15 minutes
    starts = [OPEN + k * MINUTE for k in range(26)]
    assert bars_to_evaluate(starts, None, now) == list(range(12, 26))


def test_a_scan_evaluates_only_the_bars_after_the_watermark() -> None:
    starts = [OPEN + k * MINUTE for k in range(26)]
    mark = datetime.fromtimestamp((OPEN + 22 * MINUTE) / 1000, tz=UTC)
    assert bars_to_evaluate(starts, mark, at_minute(26)) == [23, 24, 25]
    old_mark = datetime.fromtimestamp(OPEN / 1000, tz=UTC)  # an hour-old watermark: capped at 15 minutes
    assert bars_to_evaluate(starts, old_mark, at_minute(26)) == list(range(12, 26))


def test_a_deferred_minute_still_fires_its_signal_with_its_bar(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest,
    fake_discord: FakeDiscord,
) -> None:
    breakout_then_calm(massive)
    assert scan(rest, 20).signals == 0
    # Minute 26's run finds its budget spent before AAPL: deferred, the breakout of minute 25 unseen.
    ticks = iter([10.0])
    deferred = scan(rest, 26, deadline=5.0, clock=lambda: next(ticks))
    assert (deferred.deferred, deferred.signals) == (1, 0)
    caught_up = scan(rest, 28)
    assert caught_up.bars_evaluated == 8  # minutes 20-27, from the watermark at 19
    assert caught_up.signals == 2 and caught_up.deliveries == 1
    assert rows(db) == [("breakout", BAR_25, "active", True), ("breakout", BAR_25, "active", False)]
    assert len(fake_discord.messages(setup["hook_a"].id)) == 1
    # The next minute evaluates its one new bar and fires nothing again.
    again = scan(rest, 29)
    assert (again.bars_evaluated, again.signals) == (1, 0)
    assert len(rows(db)) == 2


def test_a_minute_whose_fetch_failed_fires_when_the_bars_arrive(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest
) -> None:
    breakout_then_calm(massive)
    scan(rest, 20)
    massive.fail_next(429, times=100)  # throttled: the budget's 120 s of waits run out, nothing fetched
    throttled = scan(rest, 26)
    assert throttled.signals == 0
    massive.faults.clear()
    assert scan(rest, 27).signals == 2
    assert [r[1] for r in rows(db)] == [BAR_25, BAR_25]


def test_a_caught_up_signal_past_its_expiry_is_stored_expired_not_posted(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest, massive: FakeMassiveRest,
    fake_discord: FakeDiscord,
) -> None:
    db.execute("update signal_settings set expires_minutes = 1 where asset_class = 'stock'")
    breakout_then_calm(massive)
    scan(rest, 20)
    late = scan(rest, 28)  # minute 25's signal expired at 26:00
    assert (late.signals, late.late, late.deliveries) == (2, 2, 0)
    assert rows(db) == [("breakout", BAR_25, "expired", False)] * 2
    assert fake_discord.messages(setup["hook_a"].id) == []


def test_the_watermark_is_kept_per_symbol(
    setup: dict[str, Any], db: psycopg.Connection[Any], rest: MassiveRest
) -> None:
    scan(rest, 26)
    assert db.execute("select symbol, bar_time from scan_watermarks").fetchall() == [("AAPL", BAR_25)]
    # Never moved back by a scan that saw less (a late, slower run).
    Scanner(None, now=lambda: at_minute(24) - timedelta(seconds=1)).run()
    assert db.execute("select bar_time from scan_watermarks").fetchall() == [(BAR_25,)]


def test_a_scan_held_by_429s_ends_at_its_deadline_and_the_minute_is_caught_up_later(
    setup: dict[str, Any], db: psycopg.Connection[Any], massive: FakeMassiveRest
) -> None:
    breakout_then_calm(massive)
    massive.fail_next(429, times=10_000)
    deadline = time.monotonic() + 2.5
    client = MassiveRest(massive.url, "test-key", deadline=deadline)  # real waits: 2 s fits, 4 s does not
    started = time.monotonic()
    try:
        with pytest.raises(PartialFailure, match="AAPL: DeadlineExceeded: out of time for 1 minute aggregates"):
            Scanner(client, now=lambda: at_minute(26), deadline=deadline).run()
    finally:
        client.close()
    assert time.monotonic() - started < 3.0  # the scanner was still in one symbol's 429 waits at 75 s
    assert db.execute("select count(*) from scan_watermarks").fetchone() == (0,)
    massive.faults.clear()
    later = MassiveRest(massive.url, "test-key")
    try:
        assert scan(later, 27).signals == 2  # minute 25's breakout, caught up
    finally:
        later.close()
