"""Breakout: a 1m close beyond the previous 20 bars' range on relative volume of 1.5x or more."""

from __future__ import annotations

import math

from shared.signals.candidates import Candidate, Direction, Factor, known, relative_volume_factor, scaled
from shared.signals.detectors.gamma import view_gamma_factor
from shared.signals.series import MarketView

NAME = "breakout"
MIN_RVOL = 1.5


def detect(view: MarketView) -> list[Candidate]:
    m, i = view.m, view.i
    close, rvol, atr = view.close, float(m.rvol[i]), float(m.atr[i])
    high, low = float(m.range_high[i]), float(m.range_low[i])
    if not (math.isfinite(rvol) and rvol >= MIN_RVOL and math.isfinite(high) and math.isfinite(atr) and atr > 0):
        return []
    direction: Direction
    if close > high:
        direction, beyond = "long", close - high
    elif close < low:
        direction, beyond = "short", low - close
    else:
        return []
    ema21 = float(m.ema21[i])
    with_trend = math.isfinite(ema21) and (close > ema21 if direction == "long" else close < ema21)
    factors = known(
        Factor("breakout", f"closed {beyond / atr:.2f} ATR beyond the 20-bar range", scaled(beyond / atr, 0.0, 1.0)),
        relative_volume_factor(rvol, weight=1.5),
        Factor("trend", "with the 1m EMA 21" if with_trend else "against the 1m EMA 21", 100.0 if with_trend else 0.0),
        view_gamma_factor(view, direction, atr),
    )
    return [Candidate(NAME, direction, "day", view.bar_time_ms, close, tuple(factors))]
