"""The scan reads the pre-warmed indicator state: its daily EMA 50 is the whole stored series', not the
60-session window's, when the state joins the loaded bars, and the window's own when it does not."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
import psycopg
import pytest

from shared.bars.store import upsert_bars
from shared.config import Settings
from shared.market import calendar
from shared.massive.models import Bar
from shared.massive.rest import MassiveRest
from shared.signals import indicators as ind
from shared.signals.prewarm import Prewarm
from shared.signals.scanner import load_series
from shared.signals.series import SymbolSeries
from tests.signals.synthetic import TODAY, bar

NOW = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)  # 10:00 New York on TODAY: today's daily bar still forms
# The daily bars the scan loads: the 58 whole sessions after the oldest of its 60 (whose bar, stamped at
# midnight, is before that session's open) and before today.
WINDOW = calendar.recent_sessions(60, through=TODAY)[1:-1]
HISTORY = calendar.recent_sessions(360, through=TODAY)[:-1]
PREWARMED = WINDOW[-6]  # the pre-warm ran after this session; five more followed it


def daily_bar(day: date) -> dict[str, Any]:
    """Massive's daily bar, stamped at midnight New York: 100 before the scan's window, 110 inside it."""
    t = int(datetime.combine(day, time(0), calendar.NEW_YORK).timestamp() * 1000)
    return bar(t, 110.0 if day >= WINDOW[0] else 100.0)


def store_days(days: list[date]) -> None:
    from shared.db import service_tx

    with service_tx() as conn:
        upsert_bars(conn, "SPY", "1d", [Bar.model_validate(daily_bar(d)) for d in days])


def prewarm(rest: MassiveRest, db: psycopg.Connection[Any], after: date) -> None:
    """The pre-warm after `after`'s close (the fake Massive has nothing new: it saves the stored bars' state)."""
    bounds = calendar.session_bounds(after)
    assert bounds is not None
    Prewarm(rest, now=lambda: bounds[1] + timedelta(hours=1)).run(["SPY"])
    assert db.execute("select count(*) from indicator_state where timeframe = '1d'").fetchone() == (1,)


def scan_series(end: datetime = NOW) -> SymbolSeries:
    from shared.db import service_tx

    with service_tx() as conn:
        return load_series(conn, "SPY", end)


def test_the_daily_ema50_continues_from_the_prewarmed_state_as_the_whole_series_would(
    settings: Settings, db: psycopg.Connection[Any], rest: MassiveRest
) -> None:
    store_days([d for d in HISTORY if d <= PREWARMED])
    prewarm(rest, db, PREWARMED)
    store_days([d for d in HISTORY if d > PREWARMED])
    daily = scan_series().daily
    assert len(daily.bars) == 58 and set(daily.bars.c) == {110.0}
    # Hand-checked: EMA 50 stood at 100 when the closes stepped to 110, 58 bars ago; each bar since
    # closes 2/51 of the gap, leaving 10 * (49/51)^58 = 0.98243 of it.
    assert float(daily.ema50[-1]) == pytest.approx(110 - 10 * (49 / 51) ** 58, abs=1e-6)
    assert float(daily.ema50[-1]) == pytest.approx(109.01757, abs=1e-5)
    whole = ind.ema(np.array([daily_bar(d)["c"] for d in HISTORY]), 50)
    assert float(daily.ema50[-1]) == pytest.approx(float(whole[-1]), abs=1e-6)


def test_without_a_prewarmed_state_the_daily_ema50_is_the_short_windows(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    store_days(HISTORY)
    # The window holds only 110s: its EMA 50 is seeded at 110 and never learns of the 100s before.
    assert float(scan_series().daily.ema50[-1]) == pytest.approx(110.0, abs=1e-9)


def test_the_daily_atr_continues_from_the_prewarmed_state_too(
    settings: Settings, db: psycopg.Connection[Any], rest: MassiveRest
) -> None:
    store_days([d for d in HISTORY if d <= PREWARMED])
    prewarm(rest, db, PREWARMED)
    store_days([d for d in HISTORY if d > PREWARMED])
    # Ranges are 1 except the step's (110.5 - 100 = 10.5), 58 bars ago: the window, which starts at
    # the step without its previous close, sees 1 throughout; the whole series keeps (9.5/14)(13/14)^57.
    expected = 1 + 9.5 / 14 * (13 / 14) ** 57
    assert float(scan_series().daily.atr[-1]) == pytest.approx(expected, abs=1e-6)


def test_a_prewarmed_state_newer_than_the_loaded_bars_is_ignored(
    settings: Settings, db: psycopg.Connection[Any], rest: MassiveRest
) -> None:
    store_days(HISTORY)
    earlier = calendar.session_bounds(WINDOW[-10])
    assert earlier is not None
    cold = scan_series(earlier[1])
    prewarm(rest, db, HISTORY[-1])
    warm = scan_series(earlier[1])
    np.testing.assert_array_equal(warm.daily.ema50, cold.daily.ema50)
    np.testing.assert_array_equal(warm.daily.atr, cold.daily.atr)


def test_a_prewarmed_state_with_a_gap_before_the_loaded_bars_is_ignored(
    settings: Settings, db: psycopg.Connection[Any], rest: MassiveRest
) -> None:
    # The pre-warm ran before the window; the scan's 58 bars start after the state's last bar.
    store_days([d for d in HISTORY if d < WINDOW[0]])
    prewarm(rest, db, HISTORY[HISTORY.index(WINDOW[0]) - 1])
    store_days([d for d in HISTORY if d >= WINDOW[0]])
    assert float(scan_series().daily.ema50[-1]) == pytest.approx(110.0, abs=1e-9)


def test_an_unreadable_prewarmed_state_leaves_the_scan_cold(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    store_days(HISTORY)
    db.execute(
        "insert into indicator_state (symbol, timeframe, as_of, state) values ('SPY', '1d', now(), '{\"bars\": \"x\"}')"
    )
    assert float(scan_series().daily.ema50[-1]) == pytest.approx(110.0, abs=1e-9)
