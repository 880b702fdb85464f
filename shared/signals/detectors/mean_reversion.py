"""Mean reversion: stretched more than 2 ATR (5m) from VWAP, RSI beyond 30/70, and a reversal bar.

A reversal bar for a long closes above its open and above the previous close (mirrored for a short).
"""

from __future__ import annotations

import math

from shared.signals.candidates import Candidate, Direction, Factor, known, scaled
from shared.signals.detectors.gamma import view_gamma_factor
from shared.signals.series import MarketView

NAME = "mean_reversion"
STRETCH_ATR = 2.0
RSI_LOW, RSI_HIGH = 30.0, 70.0


def detect(view: MarketView) -> list[Candidate]:
    if not view.same_session_as_previous() or view.i5 < 0:
        return []
    m, i = view.m, view.i
    atr = float(view.series.five.atr[view.i5])
    vwap, rsi = float(m.vwap[i]), float(m.rsi[i])
    if not (math.isfinite(atr) and atr > 0 and math.isfinite(vwap) and math.isfinite(rsi)):
        return []
    close, opened, previous = view.close, float(m.bars.o[i]), float(m.bars.c[i - 1])
    stretch = (close - vwap) / atr
    direction: Direction
    if stretch < -STRETCH_ATR and rsi < RSI_LOW and close > opened and close > previous:
        direction = "long"
    elif stretch > STRETCH_ATR and rsi > RSI_HIGH and close < opened and close < previous:
        direction = "short"
    else:
        return []
    extreme = (RSI_LOW - rsi) if direction == "long" else (rsi - RSI_HIGH)
    factors = [
        Factor("stretch", f"{abs(stretch):.2f} ATR from VWAP {vwap:.2f}",
               scaled(abs(stretch), STRETCH_ATR, 4.0) / 2 + 50),
        Factor("rsi_extreme", f"RSI {rsi:.0f}", scaled(extreme, 0.0, 15.0) / 2 + 50),
        Factor("reversal_bar", "reversal bar", 100.0),
    ]
    factors = known(*factors, view_gamma_factor(view, direction, atr))
    return [Candidate(NAME, direction, "scalp", view.bar_time_ms, close, tuple(factors))]
