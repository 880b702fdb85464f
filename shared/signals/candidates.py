"""What a detector returns: a candidate with its direction, style and the named factors behind it."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

Direction = Literal["long", "short"]
Style = Literal["scalp", "day", "swing"]


@dataclass(frozen=True)
class Factor:
    """One reason, 0-100, with its weight in the score and a label an admin reads."""

    key: str
    label: str
    value: float
    weight: float = 1.0

    def __post_init__(self) -> None:
        if not math.isfinite(self.value) or not 0.0 <= self.value <= 100.0:
            raise ValueError(f"factor {self.key} must be 0-100, got {self.value}")
        if not math.isfinite(self.weight) or self.weight <= 0:
            raise ValueError(f"factor {self.key} needs a positive weight")


@dataclass(frozen=True)
class Candidate:
    """A setup one detector saw at one bar: `bar_time_ms` is that bar's start, never the scan's time."""

    detector: str
    direction: Direction
    style: Style
    bar_time_ms: int
    entry: float
    factors: tuple[Factor, ...] = field(default_factory=tuple)


def clamp(value: float, low: float = 0.0, high: float = 100.0) -> float:
    """`value` within [low, high]; NaN counts as `low` (an unknown input earns nothing)."""
    if not math.isfinite(value):
        return low if math.isnan(value) else (high if value > 0 else low)
    return min(max(value, low), high)


def scaled(value: float, zero_at: float, full_at: float) -> float:
    """0 at `zero_at`, 100 at `full_at`, linear between and clamped outside."""
    if full_at == zero_at:
        return 100.0 if value >= full_at else 0.0
    return clamp((value - zero_at) / (full_at - zero_at) * 100.0)


def relative_volume_factor(rvol: float, weight: float = 1.0) -> Factor | None:
    """Relative volume: 1.0x earns 0, 3.0x or more earns 100; None when unknown.

    Unknown (an index, whose aggregates carry no volume, or no earlier session to compare with) is
    left out of the score rather than counted as 0: missing data is not evidence against a setup.
    """
    if not math.isfinite(rvol):
        return None
    return Factor("relative_volume", f"relative volume {rvol:.2f}x", scaled(rvol, 1.0, 3.0), weight)


def known(*factors: Factor | None) -> list[Factor]:
    """The factors whose inputs were known."""
    return [f for f in factors if f is not None]
