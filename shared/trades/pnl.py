"""Figures of a long option's levels: the move from a reference premium and the risk:reward of its target and stop.

The position's dollars (realized, unrealized, fees, slippage) come from the fills: `shared.trades.ledger`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

from shared.trades.money import HUNDRED, hundredths, percent_of

# Percentages are stored as numeric(12, 2) (trade_updates.pnl_percent): any figure at or beyond this
# cannot be recorded.
MAX_RECORDABLE_PERCENT = Decimal("1e10")

RiskRewardRating = Literal["excellent", "good", "poor"]


def gross_move_percent(entry: Decimal, price: Decimal) -> Decimal:
    """(price − entry) / entry × 100, to the hundredth."""
    if entry <= 0:
        raise ValueError("entry must be greater than 0")
    return percent_of(price - entry, entry)


def risk_reward(reference: Decimal, target: Decimal, stop: Decimal) -> Decimal | None:
    """(target − reference) / (reference − stop) for a long option; None unless target > reference > stop."""
    if not target > reference > stop:
        return None
    return hundredths((target - reference) / (reference - stop))


def risk_reward_rating(ratio: Decimal) -> RiskRewardRating:
    """≥3 excellent, ≥2 good, else poor."""
    if ratio >= 3:
        return "excellent"
    if ratio >= 2:
        return "good"
    return "poor"


__all__ = ["HUNDRED", "MAX_RECORDABLE_PERCENT", "gross_move_percent", "risk_reward", "risk_reward_rating"]
