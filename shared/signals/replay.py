"""Replaying a stored session minute by minute through the scanner's own code, and what price did next.

Pure over a symbol's series: the same detectors, scoring and rules as the live scan, with the
cooldown and the unique key applied in memory as the database would apply them. Writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from shared.market import calendar
from shared.signals.confluence import Rules, Signal
from shared.signals.evaluate import signals_at
from shared.signals.series import SymbolSeries

OUTCOME_MINUTES = 60


@dataclass(frozen=True)
class Outcome:
    """Price over the hour after the signal: excursions from entry (best ≥ worst, in price units,
    positive in the trade's favour), whether T1 was reached, and whether the stop was hit first."""

    best: float
    worst: float
    t1_reached: bool
    stop_hit_first: bool
    minutes: int

    def as_json(self) -> dict[str, Any]:
        return {
            "best_excursion": round(self.best, 4),
            "worst_excursion": round(self.worst, 4),
            "t1_reached": self.t1_reached,
            "stop_hit_first": self.stop_hit_first,
            "minutes": self.minutes,
        }


def outcome(signal: Signal, highs: np.ndarray, lows: np.ndarray) -> Outcome:
    """The outcome over the bars after the signal (oldest first).

    A bar that reaches both the stop and T1 counts as the stop first: a 1m bar cannot say which
    came first, and the cautious reading is the one a trader should plan with.
    """
    entry, stop, t1 = signal.candidate.entry, signal.stop, signal.targets[0]
    long = signal.candidate.direction == "long"
    if highs.size == 0:
        return Outcome(0.0, 0.0, False, False, 0)
    favourable = (highs - entry) if long else (entry - lows)
    adverse = (lows - entry) if long else (entry - highs)
    reached_t1 = (highs >= t1) if long else (lows <= t1)
    hit_stop = (lows <= stop) if long else (highs >= stop)
    first_t1 = int(np.argmax(reached_t1)) if reached_t1.any() else None
    first_stop = int(np.argmax(hit_stop)) if hit_stop.any() else None
    stop_first = first_stop is not None and (first_t1 is None or first_stop <= first_t1)
    t1_first = first_t1 is not None and not stop_first
    return Outcome(float(favourable.max()), float(adverse.min()), t1_first, stop_first, int(highs.size))


@dataclass(frozen=True)
class Replayed:
    signal: Signal
    bar_time: datetime
    outcome: Outcome

    def as_json(self) -> dict[str, Any]:
        c = self.signal.candidate
        return {
            "symbol": self.signal.symbol,
            "detector": c.detector,
            "direction": c.direction,
            "style": c.style,
            "score": self.signal.score,
            "factors": [
                {"key": f.key, "label": f.label, "value": f.value, "weight": f.weight} for f in self.signal.factors
            ],
            "entry": c.entry,
            "stop": self.signal.stop,
            "targets": list(self.signal.targets),
            "rr": self.signal.rr,
            "bar_time": self.bar_time.isoformat(),
            "outcome": self.outcome.as_json(),
        }


def replay(series: SymbolSeries, day: date, rules: Rules) -> list[Replayed]:
    """The signals that would have fired on `day`, in order, each with its outcome."""
    bounds = calendar.session_bounds(day)
    if bounds is None:
        return []
    start_ms, end_ms = (int(b.timestamp() * 1000) for b in bounds)
    bars = series.minute.bars
    fired: list[Replayed] = []
    seen: set[tuple[str, str, int]] = set()
    cooling_until: dict[str, int] = {}
    for i in np.flatnonzero((bars.t >= start_ms) & (bars.t < end_ms)):
        for signal in signals_at(series.view(int(i)), rules):
            c = signal.candidate
            key = (c.detector, c.direction, c.bar_time_ms)
            # The database's unique key, then its cooldown (until = bar_time + cooldown).
            if key in seen or c.bar_time_ms < cooling_until.get(c.detector, -1):
                continue
            seen.add(key)
            cooling_until[c.detector] = c.bar_time_ms + rules.cooldown_minutes * 60_000
            after = slice(int(i) + 1, int(i) + 1 + OUTCOME_MINUTES)
            # Only the same session's bars: the next morning is not "the next hour".
            in_day = bars.t[after] < end_ms
            result = outcome(signal, bars.h[after][in_day], bars.l[after][in_day])
            fired.append(Replayed(signal, datetime.fromtimestamp(c.bar_time_ms / 1000, tz=UTC), result))
    return fired


def session_end(day: date) -> datetime:
    """The close of `day`'s session (the replay reads stored bars up to it)."""
    bounds = calendar.session_bounds(day)
    if bounds is None:
        return datetime.combine(day, datetime.min.time(), UTC) + timedelta(days=1)
    return bounds[1]
