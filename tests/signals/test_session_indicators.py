"""VWAP bands, relative volume, the opening range, the rolling range and sessions, by hand;
and the vectorised whole-series forms against the one-step forms."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shared.signals.indicators import (
    AtrState,
    atr,
    atr_step,
    ema,
    ema_step,
    opening_range,
    relative_volume,
    rolling_max,
    rolling_min,
    rsi,
    rsi_state,
    rsi_step,
    session_vwap,
    vwap_bands,
)
from shared.signals.series import session_layout
from tests.signals.synthetic import MINUTE, TODAY, open_ms

IDX = np.array


def test_vwap_bands_are_the_volume_weighted_mean_and_standard_deviation() -> None:
    # Prices 10 (volume 1) then 12 (volume 3): VWAP 46/4 = 11.5; variance 532/4 - 11.5² = 0.75.
    bands = vwap_bands([10.0, 12.0], [1.0, 3.0], ["a", "a"])
    assert bands.vwap.tolist() == [10.0, 11.5]
    assert bands.sd[0] == 0.0
    assert bands.sd[1] == pytest.approx(math.sqrt(0.75))
    assert bands.band(2)[1] == pytest.approx(11.5 + 2 * math.sqrt(0.75))
    assert bands.band(-1)[1] == pytest.approx(11.5 - math.sqrt(0.75))


def test_vwap_bands_restart_with_each_session() -> None:
    bands = vwap_bands([10.0, 12.0, 20.0], [1.0, 3.0, 5.0], ["a", "a", "b"])
    assert bands.vwap[2] == 20.0 and bands.sd[2] == 0.0


def test_a_session_without_volume_has_no_vwap() -> None:
    bands = vwap_bands([10.0, 11.0], [0.0, 0.0], ["a", "a"])
    assert np.isnan(bands.vwap).all()


def test_session_vwap_vectorised_matches_the_running_sums() -> None:
    vwap = session_vwap([1.0, 3.0, 5.0, 7.0], [1.0, 1.0, 2.0, 2.0], ["x", "x", "y", "y"])
    assert vwap.tolist() == [1.0, 2.0, 5.0, 6.0]


def test_relative_volume_compares_with_the_same_minute_of_earlier_sessions() -> None:
    sessions = IDX([0, 0, 1, 1, 2, 2])
    minutes = IDX([0, 1, 0, 1, 0, 1])
    volume = [100.0, 200.0, 300.0, 400.0, 600.0, 300.0]
    rvol = relative_volume(volume, sessions, minutes)
    assert np.isnan(rvol[:2]).all()  # nothing earlier to compare with
    assert rvol[2:].tolist() == [3.0, 2.0, 600 / 200, 300 / 300]


def test_relative_volume_looks_back_only_so_many_sessions() -> None:
    sessions, minutes = IDX([0, 1, 2]), IDX([0, 0, 0])
    assert relative_volume([100.0, 300.0, 600.0], sessions, minutes, lookback=1)[2] == 2.0


def test_relative_volume_skips_sessions_missing_that_minute() -> None:
    sessions, minutes = IDX([0, 0, 1, 2, 2]), IDX([0, 1, 0, 0, 1])
    rvol = relative_volume([100.0, 200.0, 300.0, 600.0, 500.0], sessions, minutes)
    assert rvol[4] == 500 / 200  # session 1 has no minute 1: only session 0 counts


def test_relative_volume_against_zero_volume_is_unknown_not_infinite() -> None:
    rvol = relative_volume([0.0, 50.0], IDX([0, 1]), IDX([0, 0]))
    assert np.isnan(rvol[1])


def test_the_opening_range_is_known_only_once_its_window_has_closed() -> None:
    high, low = [5.0, 7.0, 6.0, 9.0], [4.0, 3.0, 5.0, 2.0]
    top, bottom = opening_range(high, low, IDX([0, 0, 0, 0]), IDX([0, 1, 2, 3]), minutes=2)
    assert np.isnan(top[:2]).all() and np.isnan(bottom[:2]).all()
    assert top[2:].tolist() == [7.0, 7.0] and bottom[2:].tolist() == [3.0, 3.0]


def test_a_session_that_opens_late_has_no_opening_range() -> None:
    top, _ = opening_range([5.0, 6.0], [4.0, 5.0], IDX([0, 0]), IDX([20, 21]), minutes=15)
    assert np.isnan(top).all()


def test_the_rolling_range_excludes_the_bar_itself() -> None:
    assert np.isnan(rolling_max([1.0, 3.0, 2.0, 5.0, 4.0], 2)[:2]).all()
    assert rolling_max([1.0, 3.0, 2.0, 5.0, 4.0], 2)[2:].tolist() == [3.0, 3.0, 5.0]
    assert rolling_min([4.0, 2.0, 3.0, 1.0], 2)[2:].tolist() == [2.0, 2.0]


def test_sessions_keep_regular_hours_and_number_minutes_from_the_open() -> None:
    start = open_ms(TODAY)
    t = IDX([start - MINUTE, start, start + 5 * MINUTE, start + 390 * MINUTE])
    layout = session_layout(t)
    assert layout.in_hours.tolist() == [False, True, True, False]
    assert layout.minute[1:3].tolist() == [0, 5]
    assert layout.session_day == [TODAY]


@pytest.mark.parametrize("size", [30, 257, 1200])
def test_the_vectorised_series_equal_the_step_forms(size: int) -> None:
    rng = np.random.default_rng(size)
    close = 100 + np.cumsum(rng.normal(0, 0.3, size))
    high, low = close + rng.uniform(0, 0.5, size), close - rng.uniform(0, 0.5, size)
    for period in (9, 21, 50):
        series = ema(close, period)
        if size < period:
            continue
        value = float(series[period - 1])
        for i in range(period, size):
            value = ema_step(value, float(close[i]), period)
            assert series[i] == pytest.approx(value, rel=1e-10)
    rsi_series, state = rsi(close), rsi_state(close[:15])
    assert state is not None
    for i in range(15, size):
        state = rsi_step(state, float(close[i]))
        assert rsi_series[i] == pytest.approx(state.value, rel=1e-9, abs=1e-9)
    atr_series = atr(high, low, close)
    atr_state = AtrState(float(atr_series[13]), float(close[13]))
    for i in range(14, size):
        atr_state = atr_step(atr_state, float(high[i]), float(low[i]), float(close[i]))
        assert atr_series[i] == pytest.approx(atr_state.value, rel=1e-10)


def test_a_flat_series_has_rsi_50() -> None:
    assert rsi([5.0] * 20)[-1] == 50.0
