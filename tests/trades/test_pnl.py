"""Level figures of a bought option: the move from a premium and the risk:reward of target and stop."""

from __future__ import annotations

from decimal import Decimal

import pytest

from shared.trades.pnl import gross_move_percent, risk_reward, risk_reward_rating

D = Decimal


def test_gross_move_is_the_change_over_the_entry() -> None:
    assert gross_move_percent(D("1.20"), D("1.50")) == D("25.00")
    assert gross_move_percent(D("2.00"), D("1.00")) == D("-50.00")


def test_gross_move_rounds_half_up_to_the_hundredth() -> None:
    assert gross_move_percent(D("3"), D("4")) == D("33.33")
    # 0.00625 % rounds up, not to the even 0.00.
    assert gross_move_percent(D("8"), D("8.0005")) == D("0.01")


def test_gross_move_needs_a_positive_entry() -> None:
    with pytest.raises(ValueError, match="greater than 0"):
        gross_move_percent(D("0"), D("1"))


def test_risk_reward_is_reward_over_risk() -> None:
    # Entry 1.00, target 2.00 (+1.00), stop 0.70 (−0.30): 3.33.
    assert risk_reward(D("1.00"), D("2.00"), D("0.70")) == D("3.33")


def test_a_target_below_the_entry_has_no_risk_reward() -> None:
    # Entry 1.00, target 0.50, stop 0.90: a bought option cannot profit at 0.50.
    assert risk_reward(D("1.00"), D("0.50"), D("0.90")) is None


def test_a_stop_above_the_entry_has_no_risk_reward() -> None:
    assert risk_reward(D("1.00"), D("2.00"), D("1.25")) is None


def test_risk_reward_without_risk_is_undefined() -> None:
    assert risk_reward(D("1.00"), D("2.00"), D("1.00")) is None


@pytest.mark.parametrize(
    ("ratio", "rating"), [(D("3"), "excellent"), (D("2.99"), "good"), (D("2"), "good"), (D("1.99"), "poor")]
)
def test_risk_reward_rating(ratio: Decimal, rating: str) -> None:
    assert risk_reward_rating(ratio) == rating
