"""Trend continuation: EMA 9 > 21 > 50 on 5m and 15m (or the reverse), and a 5m pullback to the 21 that holds.

The trigger is the last closed 5m bar: its low reached the 5m EMA 21 (within a tenth of an ATR)
and it closed back above it (mirrored for a downtrend). `bar_time` is that 5m bar's start.
"""

from __future__ import annotations

import math

from shared.signals.candidates import Candidate, Direction, Factor, known, scaled
from shared.signals.detectors.gamma import view_gamma_factor
from shared.signals.series import MarketView, Trend

NAME = "trend_continuation"
TOUCH_ATR = 0.1


def _stack(tf: Trend, j: int) -> Direction | None:
    if j < 0:
        return None
    fast, mid, slow = float(tf.ema9[j]), float(tf.ema21[j]), float(tf.ema50[j])
    if not all(math.isfinite(x) for x in (fast, mid, slow)):
        return None
    if fast > mid > slow:
        return "long"
    if fast < mid < slow:
        return "short"
    return None


def detect(view: MarketView) -> list[Candidate]:
    five, fifteen, j = view.series.five, view.series.fifteen, view.i5
    direction = _stack(five, j)
    if direction is None or _stack(fifteen, view.i15) != direction:
        return []
    ema21, atr = float(five.ema21[j]), float(five.atr[j])
    if not math.isfinite(atr) or atr <= 0:
        return []
    o, h, lo, c = (float(a[j]) for a in (five.bars.o, five.bars.h, five.bars.l, five.bars.c))
    if direction == "long":
        touched, held = lo <= ema21 + TOUCH_ATR * atr, c > ema21 and c >= o
    else:
        touched, held = h >= ema21 - TOUCH_ATR * atr, c < ema21 and c <= o
    if not (touched and held):
        return []
    spread = abs(float(five.ema9[j]) - float(five.ema50[j])) / atr
    j15 = view.i15
    atr15 = float(fifteen.atr[j15])
    spread15 = abs(float(fifteen.ema9[j15]) - float(fifteen.ema50[j15])) / atr15 if atr15 > 0 else math.nan
    # Where the bar closed in its range: a hold that closes at the high (long) is the clean one.
    span = h - lo
    close_at = ((c - lo) if direction == "long" else (h - c)) / span if span > 0 else 0.5
    factors = [
        Factor("trend_strength", f"5m EMA 9-50 spread {spread:.2f} ATR", scaled(spread, 0.0, 1.5)),
        Factor("trend_15m", f"15m EMA 9-50 spread {spread15:.2f} ATR", scaled(spread15, 0.0, 1.5)),
        Factor("pullback", f"5m pullback to the EMA 21 {ema21:.2f} held, closed {close_at:.0%} up its range"
               if direction == "long" else f"5m pullback to the EMA 21 {ema21:.2f} held, closed {close_at:.0%}"
               " down its range", scaled(close_at, 0.3, 1.0)),
    ]
    factors = known(*factors, view_gamma_factor(view, direction, atr))
    return [Candidate(NAME, direction, "day", int(five.bars.t[j]), c, tuple(factors))]
