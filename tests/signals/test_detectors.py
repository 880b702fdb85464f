"""Each detector on small synthetic series: setups that must fire, and near-misses that must not."""

from __future__ import annotations

from typing import Any

import pytest

from shared.gamma.figures import GammaLevels
from shared.signals.candidates import Candidate
from shared.signals.confluence import DEFAULT_RULES
from shared.signals.detectors import breakout, mean_reversion, opening_range, trend, vwap
from shared.signals.detectors.gamma import gamma_factor
from shared.signals.evaluate import signals_at
from shared.signals.series import SymbolSeries
from tests.signals.synthetic import MINUTE, TODAY, bar, flat_sessions, last_view, open_ms, ramp, series, today_minutes

HISTORY = flat_sessions(10)  # 10 sessions of 1,000 shares a minute: relative volume's baseline


def flat(n: int) -> list[dict[str, Any]]:
    return [bar(0, 100.0) for _ in range(n)]


def only(candidates: list[Candidate]) -> Candidate:
    assert len(candidates) == 1, candidates
    return candidates[0]


# --------------------------------------------------------------------------------------------- breakout


def breakout_series(last: dict[str, Any], symbol: str = "AAPL") -> SymbolSeries:
    return series(symbol, HISTORY + today_minutes([*flat(25), last]))


def test_breakout_fires_long_on_a_close_above_the_20_bar_range_on_double_volume() -> None:
    found = only(breakout.detect(last_view(breakout_series(bar(0, 101.0, h=101.2, lo=100.4, v=2000)))))
    assert (found.detector, found.direction, found.style, found.entry) == ("breakout", "long", "day", 101.0)
    assert found.bar_time_ms == open_ms(TODAY) + 25 * MINUTE
    factors = {f.key: f for f in found.factors}
    # ATR 14 of 1m: thirteen true ranges of 1.0 and this bar's 1.2 (101.2 - 100) → 14.2 / 14.
    assert factors["breakout"].value == pytest.approx(0.5 / (14.2 / 14) * 100)
    assert factors["relative_volume"].value == 50.0  # 2.0x: halfway from 1x to 3x
    assert factors["relative_volume"].weight == 1.5
    assert factors["trend"].value == 100.0


def test_breakout_fires_short_below_the_range() -> None:
    found = only(breakout.detect(last_view(breakout_series(bar(0, 99.0, h=99.6, lo=98.8, v=3000)))))
    assert found.direction == "short"


def test_breakout_on_1_4x_volume_does_not_fire() -> None:
    assert breakout.detect(last_view(breakout_series(bar(0, 101.0, h=101.2, lo=100.4, v=1400)))) == []


def test_breakout_needs_a_close_beyond_the_range_not_a_wick() -> None:
    assert breakout.detect(last_view(breakout_series(bar(0, 100.5, h=101.5, lo=100.0, v=3000)))) == []


def test_breakout_without_earlier_sessions_has_no_relative_volume_and_does_not_fire() -> None:
    s = series("AAPL", today_minutes([*flat(25), bar(0, 101.0, h=101.2, lo=100.4, v=5000)]))
    assert breakout.detect(last_view(s)) == []


# --------------------------------------------------------------------------------------------- opening range


def orb_series(symbol: str, bars: list[dict[str, Any]]) -> SymbolSeries:
    # Minutes 0-14 make the range 99.5-100.5.
    return series(symbol, HISTORY + today_minutes([*flat(15), *bars]))


def test_opening_range_breakout_fires_on_the_first_close_above_the_range() -> None:
    s = orb_series("SPY", [bar(0, 100.2), bar(0, 100.8, h=100.9, lo=100.2)])
    found = only(opening_range.detect(last_view(s)))
    assert (found.detector, found.direction, found.style) == ("opening_range_breakout", "long", "scalp")


def test_opening_range_breakout_fires_short_for_an_index() -> None:
    s = orb_series("I:SPX", [bar(0, 100.0), bar(0, 99.2, h=99.9, lo=99.1)])
    assert only(opening_range.detect(last_view(s))).direction == "short"


def test_opening_range_breakout_ignores_stocks() -> None:
    assert opening_range.detect(last_view(orb_series("AAPL", [bar(0, 100.2), bar(0, 100.8)]))) == []


def test_opening_range_breakout_fires_once_not_on_the_second_close_beyond() -> None:
    s = orb_series("SPY", [bar(0, 100.8), bar(0, 101.0)])
    assert opening_range.detect(last_view(s)) == []


def test_a_close_on_the_range_high_is_still_inside() -> None:
    assert opening_range.detect(last_view(orb_series("SPY", [bar(0, 100.2), bar(0, 100.5)]))) == []


def test_nothing_breaks_the_opening_range_before_it_is_complete() -> None:
    s = series("SPY", HISTORY + today_minutes([*flat(10), bar(0, 101.0)]))
    assert opening_range.detect(last_view(s)) == []


# --------------------------------------------------------------------------------------------- VWAP


def vwap_series(*bars: dict[str, Any]) -> SymbolSeries:
    # Ten minutes at 100 (VWAP 100), then one below it.
    return series("AAPL", HISTORY + today_minutes([*flat(10), bar(0, 99.6, h=99.9, lo=99.4), *bars]))


def test_vwap_reclaim_fires_long_when_the_close_crosses_back_above() -> None:
    # VWAP after the cross: (10 x 100 + 99.6333 + 100.1333) / 12 = 99.9806; the close is 100.3.
    s = vwap_series(bar(0, 100.3, h=100.4, lo=99.7))
    view = last_view(s)
    assert view.m.vwap[view.i] == pytest.approx((1000 + (99.9 + 99.4 + 99.6) / 3 + (100.4 + 99.7 + 100.3) / 3) / 12)
    found = only(vwap.detect(view))
    assert (found.detector, found.direction) == ("vwap_reclaim", "long")


def test_vwap_reject_fires_short_when_a_bar_tags_vwap_from_below_and_closes_under() -> None:
    found = only(vwap.detect(last_view(vwap_series(bar(0, 99.7, h=100.1, lo=99.6)))))
    assert (found.detector, found.direction) == ("vwap_reject", "short")


def test_a_bar_that_stays_below_vwap_is_neither_reclaim_nor_reject() -> None:
    assert vwap.detect(last_view(vwap_series(bar(0, 99.8, h=99.9, lo=99.7)))) == []


def test_vwap_means_nothing_in_the_first_five_minutes() -> None:
    early = [*flat(2), bar(0, 99.6, h=99.9, lo=99.4), bar(0, 100.3, h=100.4, lo=99.7)]
    s = series("AAPL", HISTORY + today_minutes(early))
    assert vwap.detect(last_view(s)) == []


# --------------------------------------------------------------------------------------------- trend


def trend_series(last5: dict[str, Any] | None, *, fifteen_step: float = 0.1) -> SymbolSeries:
    """60 flat minutes today; 5m and 15m closes rising 0.1 a bar into the 60th minute."""
    now = open_ms(TODAY) + 60 * MINUTE
    five = ramp(now, 5 * MINUTE, 80, start=100.0, step=0.1)
    if last5 is not None:
        five[-1] = {**last5, "t": five[-1]["t"]}
    fifteen = ramp(now, 15 * MINUTE, 80, start=100.0, step=fifteen_step)
    return series("AAPL", today_minutes(flat(60)), five=five, fifteen=fifteen)


def test_trend_continuation_fires_on_a_5m_pullback_to_the_21_that_holds() -> None:
    # The 5m EMA 21 of a 0.1-a-bar ramp lags price by about 1.0: near 106.9 when the ramp reaches 107.9.
    s = trend_series(None)
    ema21 = float(s.five.ema21[-2])
    s = trend_series(bar(0, ema21 + 0.3, o=ema21 + 0.05, h=ema21 + 0.35, lo=ema21 - 0.02))
    found = only(trend.detect(last_view(s)))
    assert (found.detector, found.direction, found.style) == ("trend_continuation", "long", "day")
    assert found.bar_time_ms == int(s.five.bars.t[-1])  # the 5m bar's start, not the minute's


def test_trend_continuation_needs_the_pullback_to_reach_the_21() -> None:
    s = trend_series(None)
    ema21 = float(s.five.ema21[-2])
    s = trend_series(bar(0, ema21 + 0.6, o=ema21 + 0.4, h=ema21 + 0.7, lo=ema21 + 0.3))
    assert trend.detect(last_view(s)) == []


def test_trend_continuation_needs_the_pullback_to_hold() -> None:
    s = trend_series(None)
    ema21 = float(s.five.ema21[-2])
    s = trend_series(bar(0, ema21 - 0.2, o=ema21 + 0.2, h=ema21 + 0.25, lo=ema21 - 0.3))
    assert trend.detect(last_view(s)) == []


def test_trend_continuation_needs_15m_to_agree() -> None:
    s = trend_series(None)
    ema21 = float(s.five.ema21[-2])
    s = trend_series(bar(0, ema21 + 0.3, o=ema21 + 0.05, h=ema21 + 0.35, lo=ema21 - 0.02), fifteen_step=-0.1)
    assert trend.detect(last_view(s)) == []


# --------------------------------------------------------------------------------------------- mean reversion


def reversion_series(last: dict[str, Any], *, five_range: float = 0.25) -> SymbolSeries:
    """30 minutes at 100, then 15 falling 0.2 a minute to 97.0, then `last`; 5m ATR = 2 x five_range."""
    falling = [bar(0, 100.0 - 0.2 * k, o=100.2 - 0.2 * k, h=100.25 - 0.2 * k, lo=99.95 - 0.2 * k) for k in range(1, 16)]
    now = open_ms(TODAY) + 46 * MINUTE
    five = [bar(now - (30 - k) * 5 * MINUTE, 100.0, h=100 + five_range, lo=100 - five_range) for k in range(30)]
    return series("AAPL", HISTORY + today_minutes([*flat(30), *falling, last]), five=five)


def test_mean_reversion_fires_long_on_a_reversal_bar_far_below_vwap_with_rsi_under_30() -> None:
    view = last_view(reversion_series(bar(0, 97.3, o=97.0, h=97.35, lo=96.9)))
    assert view.m.rsi[view.i] < 30
    assert (view.close - view.m.vwap[view.i]) / 0.5 < -2
    found = only(mean_reversion.detect(view))
    assert (found.detector, found.direction, found.style) == ("mean_reversion", "long", "scalp")


def test_mean_reversion_needs_a_reversal_bar() -> None:
    assert mean_reversion.detect(last_view(reversion_series(bar(0, 96.9, o=97.0, h=97.05, lo=96.8)))) == []


def test_mean_reversion_needs_the_stretch_beyond_2_atr() -> None:
    # With a 5m ATR of 2.0 the same fall is only about 1.3 ATR from VWAP.
    s = reversion_series(bar(0, 97.3, o=97.0, h=97.35, lo=96.9), five_range=1.0)
    assert mean_reversion.detect(last_view(s)) == []


# --------------------------------------------------------------------------------------------- gamma


def test_gamma_factor_for_a_long_above_zero_gamma_with_room_to_the_call_wall() -> None:
    factor = gamma_factor("long", 100.0, 1.0, zero_gamma=98.0, call_wall=103.0, put_wall=95.0)
    assert factor is not None and factor.value == 100.0  # regime 100, room 3 ATR → 100


def test_gamma_factor_for_a_long_pinned_under_the_call_wall() -> None:
    # Regime 100; room 1.25 ATR → (1.25 - 0.5) / 1.5 = 50; mean 75.
    factor = gamma_factor("long", 100.0, 2.0, zero_gamma=98.0, call_wall=102.5, put_wall=95.0)
    assert factor is not None and factor.value == 75.0


def test_gamma_factor_for_a_short_above_zero_gamma() -> None:
    # Regime 0 (dealers long gamma dampen a short above zero gamma); room to the put wall 1.0 ATR → 33.3.
    factor = gamma_factor("short", 100.0, 3.0, zero_gamma=98.0, call_wall=110.0, put_wall=97.0)
    assert factor is not None and factor.value == pytest.approx((0 + 100 / 3) / 2, abs=0.05)


def test_gamma_factor_needs_a_zero_gamma_level() -> None:
    assert gamma_factor("long", 100.0, 1.0, zero_gamma=None, call_wall=103.0, put_wall=95.0) is None


def test_a_detector_adds_the_gamma_factor_when_the_symbol_has_a_snapshot() -> None:
    s = series("AAPL", HISTORY + today_minutes([*flat(25), bar(0, 101.0, h=101.2, lo=100.4, v=2000)]),
               gamma=GammaLevels(spot=101.0, zero_gamma=99.0, call_wall=None, put_wall=None))
    keys = [f.key for f in only(breakout.detect(last_view(s))).factors]
    assert keys[-1] == "gamma"


def test_an_index_without_volume_is_scored_on_the_factors_it_has() -> None:
    # Index aggregates carry no volume: no relative volume, no VWAP. A climbing opening range
    # 98.8-100.6 (4.5 ATRs of 0.4 wide) and a first close above it score 100 on range and trigger alone.
    opening = [bar(0, 99.0 + 0.1 * k, h=99.2 + 0.1 * k, lo=98.8 + 0.1 * k, v=0.0) for k in range(15)]
    rows = today_minutes([*opening, bar(0, 100.5, h=100.6, lo=100.3, v=0.0), bar(0, 100.9, h=101.0, lo=100.5, v=0.0)])
    now = rows[-1]["t"] + MINUTE
    five = [bar(now - (20 - k) * 5 * MINUTE, 100.0, h=100.5, lo=99.5, v=0.0) for k in range(20)]
    s = series("I:SPX", rows, five=five)
    found = only(opening_range.detect(last_view(s)))
    assert [f.key for f in found.factors] == ["opening_range", "range_width"]
    [signal] = signals_at(last_view(s), DEFAULT_RULES)
    assert signal.score == 100.0 and signal.stop == 99.9  # 5m ATR 1.0 below the 100.9 entry
