"""Profit and loss of an option trade: gross move, net of fees and slippage, trims, R:R."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

CONTRACT_MULTIPLIER = 100
FEE_PER_CONTRACT = Decimal("0.65")
MIN_FEE_PER_SIDE = Decimal("0.50")
# Without a quote, slippage is assumed to be this share of the mid price, per side.
SLIPPAGE_OF_MID = Decimal("0.005")
HUNDRED = Decimal(100)
_CENT = Decimal("0.01")
# Percentages are stored as numeric(12, 2) (trade_updates.pnl_percent, trades.realized_percent):
# any move at or beyond this cannot be recorded.
MAX_RECORDABLE_PERCENT = Decimal("1e10")

RiskRewardRating = Literal["excellent", "good", "poor"]


def _round(value: Decimal) -> Decimal:
    return value.quantize(_CENT, rounding=ROUND_HALF_UP)


def gross_move_percent(entry: Decimal, price: Decimal) -> Decimal:
    """(price − entry) / entry × 100, to the hundredth."""
    if entry <= 0:
        raise ValueError("entry must be greater than 0")
    return _round((price - entry) / entry * HUNDRED)


def fee_per_side(contracts: Decimal) -> Decimal:
    """$0.65 per contract, at least $0.50, for one side (opening or closing)."""
    return max(FEE_PER_CONTRACT * contracts, MIN_FEE_PER_SIDE)


@dataclass(frozen=True)
class Quote:
    """A bid/ask pair; the spread sets the slippage when known."""

    bid: Decimal
    ask: Decimal

    @property
    def mid(self) -> Decimal:
        return (self.bid + self.ask) / 2

    @property
    def half_spread(self) -> Decimal:
        return abs(self.ask - self.bid) / 2


def slippage_per_side(price: Decimal, contracts: Decimal, quote: Quote | None = None) -> Decimal:
    """Dollars lost to slippage on one side: half the spread when quoted, else 0.5 % of mid."""
    per_share = quote.half_spread if quote is not None else price * SLIPPAGE_OF_MID
    return per_share * contracts * CONTRACT_MULTIPLIER


@dataclass(frozen=True)
class NetPnl:
    """A round trip's P&L in dollars (gross, fees, slippage, net) and net as % of cost."""

    gross: Decimal
    fees: Decimal
    slippage: Decimal
    net: Decimal
    net_percent: Decimal


def net_pnl(
    entry: Decimal,
    exit_price: Decimal,
    contracts: Decimal,
    *,
    entry_quote: Quote | None = None,
    exit_quote: Quote | None = None,
) -> NetPnl:
    """The P&L of buying `contracts` at `entry` and selling at `exit_price`, fees and slippage both sides."""
    if entry <= 0:
        raise ValueError("entry must be greater than 0")
    if contracts <= 0:
        raise ValueError("contracts must be greater than 0")
    gross = (exit_price - entry) * contracts * CONTRACT_MULTIPLIER
    fees = fee_per_side(contracts) * 2
    slippage = slippage_per_side(entry, contracts, entry_quote) + slippage_per_side(
        exit_price, contracts, exit_quote
    )
    net = gross - fees - slippage
    cost = entry * contracts * CONTRACT_MULTIPLIER
    return NetPnl(
        gross=_round(gross),
        fees=_round(fees),
        slippage=_round(slippage),
        net=_round(net),
        net_percent=_round(net / cost * HUNDRED),
    )


@dataclass(frozen=True)
class Trim:
    """A partial exit: `percent` of the original position closed at a move of `move_percent`."""

    percent: Decimal
    move_percent: Decimal


def trimmed_percent(trims: Iterable[Trim]) -> Decimal:
    """The share of the original position already closed."""
    return sum((t.percent for t in trims), Decimal(0))


def remaining_percent(trims: Iterable[Trim]) -> Decimal:
    """100 % minus the trimmed percentages (never below 0)."""
    return max(HUNDRED - trimmed_percent(trims), Decimal(0))


def realized_percent(trims: Iterable[Trim]) -> Decimal:
    """The trims' P&L as a % of the whole position: Σ share × move."""
    return _round(sum((t.percent * t.move_percent / HUNDRED for t in trims), Decimal(0)))


def position_percent(trims: Iterable[Trim], remaining_move_percent: Decimal) -> Decimal:
    """The whole position's P&L %: realized trims plus what remains at `remaining_move_percent`."""
    closed = list(trims)
    return _round(
        realized_percent(closed) + remaining_percent(closed) * remaining_move_percent / HUNDRED
    )


def risk_reward(entry: Decimal, target: Decimal, stop: Decimal) -> Decimal | None:
    """|target − entry| / |entry − stop| to the hundredth; None when the stop equals the entry."""
    risk = abs(entry - stop)
    if risk == 0:
        return None
    return _round(abs(target - entry) / risk)


def risk_reward_rating(ratio: Decimal) -> RiskRewardRating:
    """≥3 excellent, ≥2 good, else poor."""
    if ratio >= 3:
        return "excellent"
    if ratio >= 2:
        return "good"
    return "poor"
