"""The indicators, checked by hand on small series, and their step forms against the whole series."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from shared.signals.indicators import (
    AtrState,
    atr,
    atr_step,
    ema,
    ema_step,
    rsi,
    rsi_state,
    rsi_step,
    session_vwap,
)
from shared.signals.warm_state import warm_state


def test_ema_is_seeded_with_the_mean_then_smoothed() -> None:
    # period 3: seed mean(1, 2, 3) = 2; alpha 0.5: 0.5*4 + 0.5*2 = 3; 0.5*5 + 0.5*3 = 4.
    values = ema([1, 2, 3, 4, 5], 3)
    assert np.isnan(values[:2]).all()
    assert values[2:].tolist() == [2.0, 3.0, 4.0]


def test_rsi_follows_wilder_by_hand() -> None:
    # changes +1, -0.5, +1, -0.5; period 2.
    # seed: gain 0.5, loss 0.25 → RS 2 → 66.667; then gain 0.75, loss 0.125 → RS 6 → 85.714;
    # then gain 0.375, loss 0.3125 → RS 1.2 → 54.545.
    values = rsi([10, 11, 10.5, 11.5, 11], 2)
    assert np.isnan(values[:2]).all()
    assert values[2:].round(3).tolist() == [66.667, 85.714, 54.545]


def test_rsi_of_a_series_that_only_rises_is_100() -> None:
    assert rsi(list(range(20)), 14)[-1] == 100.0


def test_atr_follows_wilder_by_hand() -> None:
    # true ranges 1.0 (first bar: high - low), 1.5 (|11 - 9.5|), 0.8 (10.8 - 10);
    # period 2: seed (1 + 1.5) / 2 = 1.25; then (1.25 + 0.8) / 2 = 1.025.
    values = atr([10, 11, 10.8], [9, 9.5, 10], [9.5, 10.5, 10.2], 2)
    assert math.isnan(values[0])
    assert values[1:].round(6).tolist() == [1.25, 1.025]


def test_session_vwap_restarts_each_session() -> None:
    # (10*100 + 12*300) / 400 = 11.5; the next session starts over at 20.
    values = session_vwap([10, 12, 20], [100, 300, 50], ["a", "a", "b"])
    assert values.tolist() == [10.0, 11.5, 20.0]


def test_the_step_forms_continue_exactly_where_the_series_left_off() -> None:
    rng = np.random.default_rng(11)
    close = 100 + np.cumsum(rng.normal(0, 0.5, 200))
    high = close + rng.uniform(0, 0.4, 200)
    low = close - rng.uniform(0, 0.4, 200)
    whole_ema = ema(close, 21)
    assert ema_step(float(whole_ema[149]), float(close[150]), 21) == pytest.approx(whole_ema[150])
    state = rsi_state(close[:150], 14)
    assert state is not None
    for i in range(150, 200):
        state = rsi_step(state, float(close[i]), 14)
    assert state.value == pytest.approx(rsi(close, 14)[-1])
    whole_atr = atr(high, low, close, 14)
    atr_state = AtrState(float(whole_atr[149]), float(close[149]))
    for i in range(150, 200):
        atr_state = atr_step(atr_state, float(high[i]), float(low[i]), float(close[i]), 14)
    assert atr_state.value == pytest.approx(whole_atr[-1])


def test_the_warm_state_holds_what_a_monday_scan_needs() -> None:
    # Friday 2026-11-27 closes early (13:00); 09:30-12:59 in 1m bars, then an after-hours bar.
    start = datetime(2026, 11, 27, 14, 30, tzinfo=UTC)
    bars = [
        {"ts": start + timedelta(minutes=i), "o": 10.0, "h": 10.5, "l": 9.5, "c": 10 + i / 100, "v": 100.0, "vw": 10.0}
        for i in range(210)
    ]
    after_hours = datetime(2026, 11, 27, 19, 0, tzinfo=UTC)
    bars.append({"ts": after_hours, "o": 99, "h": 99, "l": 99, "c": 99, "v": 1e6, "vw": 99})
    state = warm_state(bars)
    assert state is not None
    assert state["bars"] == 211
    assert set(state["ema"]) == {"9", "21", "50"} and all(v is not None for v in state["ema"].values())
    assert state["rsi14"]["value"] is not None and state["atr14"]["value"] is not None
    # The after-hours bar is outside the session: VWAP stays 10.
    assert state["vwap"] == {"session": "2026-11-27", "value": 10.0, "cum_pv": 210_000.0, "cum_v": 21_000.0}
    # Monday 2026-11-30 09:30 New York = 14:30 UTC.
    assert state["next_session_open_t"] == int(datetime(2026, 11, 30, 14, 30, tzinfo=UTC).timestamp() * 1000)


def test_a_symbol_with_too_few_bars_has_no_indicator_values_yet() -> None:
    bars = [{"ts": datetime(2026, 11, 27, 15, 0, tzinfo=UTC), "o": 1, "h": 1, "l": 1, "c": 1, "v": 1, "vw": None}]
    state = warm_state(bars)
    assert state is not None
    assert state["ema"] == {"9": None, "21": None, "50": None}
    assert state["rsi14"] is None and state["atr14"] is None
