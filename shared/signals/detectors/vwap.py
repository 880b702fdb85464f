"""VWAP reclaim and reject on 1m bars.

Reclaim: the close crosses VWAP (from below: long; from above: short). Reject: the bar reaches
VWAP from one side and closes back on that side (from below: short; from above: long).
"""

from __future__ import annotations

import math

from shared.signals.candidates import Candidate, Direction, Factor, known, relative_volume_factor, scaled
from shared.signals.detectors.gamma import view_gamma_factor
from shared.signals.series import MarketView

RECLAIM = "vwap_reclaim"
REJECT = "vwap_reject"
# VWAP means little in the first minutes of a session.
MIN_MINUTE = 5


def detect(view: MarketView) -> list[Candidate]:
    if not view.same_session_as_previous():
        return []
    m, i = view.m, view.i
    if m.minute[i] < MIN_MINUTE:
        return []
    vwap, before = float(m.vwap[i]), float(m.vwap[i - 1])
    close, previous = view.close, float(m.bars.c[i - 1])
    high, low = float(m.bars.h[i]), float(m.bars.l[i])
    if not (math.isfinite(vwap) and math.isfinite(before)):
        return []
    name: str
    direction: Direction
    if previous < before and close > vwap:
        name, direction = RECLAIM, "long"
    elif previous > before and close < vwap:
        name, direction = RECLAIM, "short"
    elif previous < before and high >= vwap > close:
        name, direction = REJECT, "short"
    elif previous > before and low <= vwap < close:
        name, direction = REJECT, "long"
    else:
        return []
    atr, rsi = float(m.atr[i]), float(m.rsi[i])
    ema9 = float(m.ema9[i])
    momentum = math.isfinite(ema9) and (close > ema9 if direction == "long" else close < ema9)
    # Room left in RSI: a long at RSI 40 has more to give than one at 75.
    room = (70.0 - rsi) if direction == "long" else (rsi - 30.0)
    factors = known(
        # How decisively it closed away from VWAP: half a 1m ATR or more is a clear reclaim or reject.
        Factor("vwap", f"{'reclaimed' if name == RECLAIM else 'rejected at'} VWAP {vwap:.2f}",
               scaled(abs(close - vwap) / atr, 0.0, 0.5) if math.isfinite(atr) and atr > 0 else 0.0),
        relative_volume_factor(float(m.rvol[i])),
        Factor("momentum", "with the 1m EMA 9" if momentum else "against the 1m EMA 9", 100.0 if momentum else 0.0),
        Factor("rsi_room", f"RSI {rsi:.0f}" if math.isfinite(rsi) else "RSI n/a", scaled(room, 0.0, 20.0)),
        view_gamma_factor(view, direction, atr),
    )
    return [Candidate(name, direction, "scalp", view.bar_time_ms, close, tuple(factors))]
