"""One symbol at one bar: every detector's candidates, scored and levelled, kept when the rules allow."""

from __future__ import annotations

import math

from shared.signals.confluence import STYLES, Rules, Signal, evaluate
from shared.signals.detectors import detect_all
from shared.signals.series import MarketView, Trend


def style_atr(view: MarketView, timeframe: str) -> float:
    """The real ATR 14 of `timeframe` ('5m', '15m', '1d') at the view's last closed bar of it."""
    series = view.series
    frames: dict[str, tuple[Trend, int]] = {
        "5m": (series.five, view.i5), "15m": (series.fifteen, view.i15), "1d": (series.daily, view.iday),
    }
    frame, j = frames[timeframe]
    return float(frame.atr[j]) if j >= 0 else math.nan


def signals_at(view: MarketView, rules: Rules) -> list[Signal]:
    """The signals the detectors give at `view` that meet `rules` (minimum score and R:R)."""
    found: list[Signal] = []
    for candidate in detect_all(view):
        atr = style_atr(view, STYLES[candidate.style].atr_timeframe)
        signal = evaluate(view.series.symbol, candidate, atr, rules)
        if signal is not None:
            found.append(signal)
    return found

