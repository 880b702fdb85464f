"""The detectors, one module each: pure functions from a MarketView to zero or more candidates."""

from __future__ import annotations

from collections.abc import Callable

from shared.signals.candidates import Candidate
from shared.signals.detectors import breakout, mean_reversion, opening_range, trend, vwap
from shared.signals.series import MarketView

Detector = Callable[[MarketView], list[Candidate]]

DETECTORS: tuple[Detector, ...] = (
    breakout.detect,
    opening_range.detect,
    vwap.detect,
    trend.detect,
    mean_reversion.detect,
)


def detect_all(view: MarketView) -> list[Candidate]:
    """Every detector's candidates at `view`."""
    return [candidate for detector in DETECTORS for candidate in detector(view)]
