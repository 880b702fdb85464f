"""Confluence: the score is the factors' weighted mean; stops and targets are ATR multiples by style.

The minimum score and R:R per asset class come from the `signal_settings` table (`Rules`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from shared.signals.candidates import Candidate, Direction, Factor, Style


@dataclass(frozen=True)
class StyleLevels:
    """Stop and targets in ATRs of the style's timeframe ('5m', '15m' or '1d')."""

    atr_timeframe: str
    stop_atr: float
    target_atr: tuple[float, ...]


STYLES: dict[Style, StyleLevels] = {
    "scalp": StyleLevels("5m", 1.0, (1.5, 2.5)),
    "day": StyleLevels("15m", 1.0, (2.0, 3.0)),
    "swing": StyleLevels("1d", 1.5, (3.0, 4.5)),
}


@dataclass(frozen=True)
class Rules:
    """One asset class's thresholds (a row of `signal_settings`)."""

    min_score: float
    min_rr: float
    cooldown_minutes: int
    expires_minutes: int


DEFAULT_RULES = Rules(min_score=60.0, min_rr=1.5, cooldown_minutes=15, expires_minutes=60)


@dataclass(frozen=True)
class Signal:
    """A scored candidate with its levels, ready to store and alert."""

    symbol: str
    candidate: Candidate
    score: float
    stop: float
    targets: tuple[float, ...]
    rr: float
    atr: float

    @property
    def factors(self) -> tuple[Factor, ...]:
        return self.candidate.factors


def score(factors: tuple[Factor, ...]) -> float:
    """The factors' weighted mean, 0-100, to one decimal; 0 with no factors."""
    total = sum(f.weight for f in factors)
    if total <= 0:
        return 0.0
    return round(sum(f.value * f.weight for f in factors) / total, 1)


def levels(entry: float, direction: Direction, atr: float, style: Style) -> tuple[float, tuple[float, ...], float]:
    """(stop, targets, R:R to the first target) from `entry` and the real `atr` in price units."""
    rule = STYLES[style]
    sign = 1.0 if direction == "long" else -1.0
    stop = round(entry - sign * rule.stop_atr * atr, 4)
    targets = tuple(round(entry + sign * k * atr, 4) for k in rule.target_atr)
    risk = abs(entry - stop)
    rr = round(abs(targets[0] - entry) / risk, 2) if risk > 0 else 0.0
    return stop, targets, rr


def evaluate(symbol: str, candidate: Candidate, atr: float, rules: Rules) -> Signal | None:
    """The candidate as a signal when its score and R:R meet `rules` and the ATR is real; else None."""
    if not math.isfinite(atr) or atr <= 0 or not math.isfinite(candidate.entry) or candidate.entry <= 0:
        return None
    value = score(candidate.factors)
    stop, targets, rr = levels(candidate.entry, candidate.direction, atr, candidate.style)
    if value < rules.min_score or rr < rules.min_rr:
        return None
    return Signal(symbol, candidate, value, stop, targets, rr, atr)
