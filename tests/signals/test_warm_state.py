"""Starting a timeframe warm from the pre-warm's saved state: the whole series' values when the state
joins the loaded bars, the loaded window's own values when it does not."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import numpy as np
import pytest

from shared.signals.series import DAY_MS, Bars, Trend, trend
from shared.signals.warm_state import SavedState, warm_state

FIVE = 300_000
START = 1_790_000_000_000


def wavy(count: int) -> list[dict[str, Any]]:
    """`count` 5m bars whose closes wander (no two alike), with ranges that vary."""
    rows = []
    for k in range(count):
        c = 100.0 + 5.0 * np.sin(k / 7.0) + 0.01 * k
        rows.append({"t": START + k * FIVE, "o": c - 0.1, "h": c + 0.3 + 0.2 * np.cos(k / 3.0),
                     "l": c - 0.4, "c": c, "v": 1000.0, "vw": None})
    return rows


def saved_after(rows: list[dict[str, Any]]) -> SavedState:
    """What the pre-warm stores after `rows` (its own function, through JSON-like values)."""
    with_ts = [{**r, "ts": datetime.fromtimestamp(r["t"] / 1000, tz=UTC)} for r in rows]
    state = warm_state(with_ts)
    assert state is not None
    return SavedState.model_validate(state)


def window(rows: list[dict[str, Any]], first: int) -> Bars:
    return Bars.from_rows(rows[first:])


def same_trend(a: Trend, b: Trend) -> None:
    for name in ("ema9", "ema21", "ema50", "atr"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))


ROWS = wavy(400)
# The pre-warm ran after bar 339; the scan loaded bars 300-399 (a window too short for EMA 50 to forget its seed).
SAVED = saved_after(ROWS[:340])
FIRST = 300
JOIN = 339 - FIRST


def test_a_joining_state_gives_the_whole_series_values_from_its_bar_on() -> None:
    whole = trend(Bars.from_rows(ROWS), FIVE)
    warm = trend(window(ROWS, FIRST), FIVE, SAVED)
    for name in ("ema9", "ema21", "ema50", "atr"):
        expected = getattr(whole, name)[FIRST + JOIN :]
        np.testing.assert_allclose(getattr(warm, name)[JOIN:], expected, rtol=0, atol=2e-6)


def test_without_the_state_the_short_window_ema50_differs_from_the_whole_series() -> None:
    whole = trend(Bars.from_rows(ROWS), FIVE)
    cold = trend(window(ROWS, FIRST), FIVE)
    assert abs(float(cold.ema50[-1]) - float(whole.ema50[-1])) > 1e-3


def test_the_bars_before_the_state_keep_the_window_values() -> None:
    cold = trend(window(ROWS, FIRST), FIVE)
    warm = trend(window(ROWS, FIRST), FIVE, SAVED)
    np.testing.assert_array_equal(warm.ema50[:JOIN], cold.ema50[:JOIN])


def test_a_state_newer_than_the_bars_is_ignored() -> None:
    bars = window(ROWS[:330], FIRST)
    same_trend(trend(bars, FIVE, SAVED), trend(bars, FIVE))


def test_a_state_older_than_the_first_loaded_bar_is_ignored() -> None:
    bars = window(ROWS, 345)
    same_trend(trend(bars, FIVE, SAVED), trend(bars, FIVE))


def test_a_state_whose_bar_is_missing_from_the_loaded_bars_is_ignored() -> None:
    gap = [r for k, r in enumerate(ROWS) if k != 339]
    bars = window(gap, FIRST)
    same_trend(trend(bars, FIVE, SAVED), trend(bars, FIVE))


def test_a_state_whose_bar_closed_differently_is_ignored() -> None:
    revised = [*ROWS[:339], {**ROWS[339], "c": ROWS[339]["c"] + 0.01}, *ROWS[340:]]
    bars = window(revised, FIRST)
    same_trend(trend(bars, FIVE, SAVED), trend(bars, FIVE))


def test_a_state_that_saw_fewer_bars_than_the_window_is_ignored() -> None:
    short = saved_after(ROWS[320:340])  # 20 bars, where the window has 40 up to the same bar
    bars = window(ROWS, FIRST)
    same_trend(trend(bars, FIVE, short), trend(bars, FIVE))


def test_a_state_without_an_ema50_leaves_only_that_ema_to_the_window() -> None:
    partial = SAVED.model_copy(update={"ema": {**SAVED.ema, "50": None}})
    bars = window(ROWS, FIRST)
    warm, cold = trend(bars, FIVE, partial), trend(bars, FIVE)
    np.testing.assert_array_equal(warm.ema50, cold.ema50)
    assert float(warm.ema9[JOIN]) == SAVED.ema["9"]


@pytest.mark.parametrize("broken", [
    {"bars": 0}, {"last_t": "soon"}, {"ema": None}, {"atr14": {"value": -1.0, "last_close": 1.0}},
])
def test_a_state_that_is_not_one_does_not_parse(broken: dict[str, Any]) -> None:
    raw = {**SAVED.model_dump(by_alias=True), **broken}
    with pytest.raises(ValueError):
        SavedState.model_validate(raw)


def test_the_daily_state_reads_the_field_names_the_prewarm_writes() -> None:
    rows = [{**r, "t": START + k * DAY_MS} for k, r in enumerate(wavy(60))]
    state = saved_after(rows)
    assert state.atr is not None and state.ema["50"] is not None and state.bars == 60
