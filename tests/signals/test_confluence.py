"""Confluence by hand: the weighted mean, stops and targets in real ATRs by style, R:R, and the rules."""

from __future__ import annotations

import math

import pytest

from shared.signals.candidates import Candidate, Factor, scaled
from shared.signals.confluence import Rules, evaluate, levels, score

RULES = Rules(min_score=60.0, min_rr=1.5, cooldown_minutes=15, expires_minutes=60)


def candidate(direction: str = "long", style: str = "day", *factors: Factor) -> Candidate:
    return Candidate("breakout", direction, style, 0, 100.0, factors or (Factor("a", "a", 80.0),))  # type: ignore[arg-type]


def test_the_score_is_the_weighted_mean_of_the_factors() -> None:
    # (49.3 x 1 + 50 x 1.5 + 100 x 1) / 3.5 = 64.08
    factors = (Factor("b", "b", 49.3), Factor("r", "r", 50.0, 1.5), Factor("t", "t", 100.0))
    assert score(factors) == 64.1


def test_no_factors_score_zero() -> None:
    assert score(()) == 0.0


def test_a_factor_outside_0_to_100_is_refused() -> None:
    with pytest.raises(ValueError):
        Factor("x", "x", 101.0)
    with pytest.raises(ValueError):
        Factor("x", "x", math.nan)
    with pytest.raises(ValueError):
        Factor("x", "x", 50.0, 0.0)


def test_scaled_clamps_and_treats_unknown_as_nothing() -> None:
    assert scaled(2.0, 1.0, 3.0) == 50.0
    assert scaled(9.0, 1.0, 3.0) == 100.0
    assert scaled(math.nan, 1.0, 3.0) == 0.0


def test_day_levels_are_one_atr_stop_and_two_and_three_atr_targets() -> None:
    assert levels(100.0, "long", 0.8, "day") == (99.2, (101.6, 102.4), 2.0)


def test_scalp_levels_for_a_short() -> None:
    stop, targets, rr = levels(50.0, "short", 0.2, "scalp")
    assert (stop, targets, rr) == (50.2, (49.7, 49.5), 1.5)


def test_swing_levels_use_a_wider_stop() -> None:
    assert levels(200.0, "long", 4.0, "swing") == (194.0, (212.0, 218.0), 2.0)


def test_a_candidate_meeting_the_rules_becomes_a_signal_with_its_levels() -> None:
    signal = evaluate("SPY", candidate(), 0.5, RULES)
    assert signal is not None
    assert (signal.score, signal.stop, signal.targets, signal.rr) == (80.0, 99.5, (101.0, 101.5), 2.0)


def test_a_score_below_the_minimum_is_dropped() -> None:
    assert evaluate("SPY", candidate("long", "day", Factor("a", "a", 59.9)), 0.5, RULES) is None


def test_an_rr_below_the_minimum_is_dropped() -> None:
    assert evaluate("SPY", candidate(), 0.5, Rules(60.0, 2.5, 15, 60)) is None


@pytest.mark.parametrize("atr", [0.0, -1.0, math.nan, math.inf])
def test_no_signal_without_a_real_atr(atr: float) -> None:
    assert evaluate("SPY", candidate(), atr, RULES) is None
