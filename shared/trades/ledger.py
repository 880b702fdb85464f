"""A trade's fills ledger: every buy and sell, and the position's P&L by the average-cost method.

Each action that changes the position writes one fill (enter and add buy, trim and exit sell). The
P&L is folded from the fills alone, exactly in decimals, and rounded once (`shared.trades.money`):

- realized on a sell = (price − average cost) × contracts × 100;
- unrealized = (mark − average cost) × open contracts × 100;
- fees and slippage are each fill's own charges, in cents.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Literal

from shared.trades.money import CONTRACT_MULTIPLIER, HUNDRED, cents, percent_of, premium

FillSide = Literal["buy", "sell"]

FEE_PER_CONTRACT = Decimal("0.65")
MIN_FEE_PER_FILL = Decimal("0.50")
# Without a quote, a fill is assumed to lose this share of its price to the spread.
SLIPPAGE_OF_PRICE = Decimal("0.005")
# Enough digits that repeated trims of fractional contracts never round inside the fold.
_PRECISION = 60


class LedgerError(ValueError):
    """A fill the position cannot take (selling more than is open)."""


@dataclass(frozen=True)
class Quote:
    """The bid and ask when the fill was made; half the spread is its slippage."""

    bid: Decimal
    ask: Decimal

    @property
    def half_spread(self) -> Decimal:
        return (self.ask - self.bid) / 2


@dataclass(frozen=True)
class Fill:
    """One buy or sell of `contracts` at `price` (per share), with its fee and slippage in dollars."""

    side: FillSide
    contracts: Decimal
    price: Decimal
    fee: Decimal
    slippage: Decimal


def fee_for(contracts: Decimal) -> Decimal:
    """$0.65 per contract, at least $0.50 per fill, in cents."""
    return cents(max(FEE_PER_CONTRACT * contracts, MIN_FEE_PER_FILL))


def slippage_for(price: Decimal, contracts: Decimal, quote: Quote | None = None) -> Decimal:
    """Half the quoted spread, else 0.5 % of the fill price; × contracts × 100, in cents."""
    per_share = quote.half_spread if quote is not None else price * SLIPPAGE_OF_PRICE
    return cents(per_share * contracts * CONTRACT_MULTIPLIER)


def make_fill(side: FillSide, contracts: Decimal, price: Decimal, quote: Quote | None = None) -> Fill:
    """A fill with the fee and slippage its size, price and quote imply."""
    if contracts <= 0:
        raise LedgerError("a fill needs more than 0 contracts")
    if price < 0:
        raise LedgerError("a fill's price cannot be negative")
    return Fill(side, contracts, price, fee_for(contracts), slippage_for(price, contracts, quote))


@dataclass(frozen=True)
class Position:
    """The position the fills leave: contracts bought and sold, open cost, realized dollars, charges."""

    bought: Decimal = Decimal(0)
    sold: Decimal = Decimal(0)
    # Σ price × contracts of what is still open, at its average cost (per-share units).
    open_cost: Decimal = Decimal(0)
    # Σ price × contracts of every buy (per-share units).
    bought_cost: Decimal = Decimal(0)
    # Realized P&L in per-share units × contracts (dollars / 100), exact.
    realized_units: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    slippage: Decimal = Decimal(0)

    @property
    def open_contracts(self) -> Decimal:
        return self.bought - self.sold

    @property
    def average_cost(self) -> Decimal | None:
        """The open contracts' average cost per share; None when nothing is open."""
        if self.open_contracts <= 0:
            return None
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            return self.open_cost / self.open_contracts

    def apply(self, fill: Fill) -> Position:
        """The position after `fill`; LedgerError when it sells more than is open."""
        with localcontext() as ctx:
            ctx.prec = _PRECISION
            charges = {"fees": self.fees + fill.fee, "slippage": self.slippage + fill.slippage}
            if fill.side == "buy":
                return Position(
                    bought=self.bought + fill.contracts,
                    sold=self.sold,
                    open_cost=self.open_cost + fill.price * fill.contracts,
                    bought_cost=self.bought_cost + fill.price * fill.contracts,
                    realized_units=self.realized_units,
                    **charges,
                )
            open_now = self.open_contracts
            if fill.contracts > open_now:
                raise LedgerError(f"cannot sell {fill.contracts} contracts: {open_now} are open")
            # Selling everything takes all the open cost, so a closed trade's P&L is exactly sells − buys.
            released = self.open_cost if fill.contracts == open_now else self.open_cost * fill.contracts / open_now
            return Position(
                bought=self.bought,
                sold=self.sold + fill.contracts,
                open_cost=self.open_cost - released,
                bought_cost=self.bought_cost,
                realized_units=self.realized_units + fill.price * fill.contracts - released,
                **charges,
            )


def replay(fills: Iterable[Fill]) -> Position:
    """The position after every fill in order."""
    position = Position()
    for fill in fills:
        position = position.apply(fill)
    return position


@dataclass(frozen=True)
class PositionPnl:
    """What the API and the alerts show of a position at a mark: dollars to the cent, percentages to the hundredth."""

    mark: Decimal | None
    open_quantity: Decimal
    average_cost: Decimal | None
    cost_basis: Decimal
    realized: Decimal
    unrealized: Decimal | None
    gross: Decimal | None
    fees: Decimal
    slippage: Decimal
    net: Decimal | None
    position_percent: Decimal | None
    net_percent: Decimal | None
    trimmed_percent: Decimal

    @property
    def result(self) -> Literal["win", "loss", "flat"] | None:
        """The whole position's result by its gross P&L."""
        if self.gross is None:
            return None
        return "win" if self.gross > 0 else "loss" if self.gross < 0 else "flat"


def position_pnl(position: Position, mark: Decimal | None) -> PositionPnl:
    """The position's P&L at `mark` (the open contracts are valued there; None leaves them unvalued)."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        open_contracts = position.open_contracts
        unrealized_units: Decimal | None
        if open_contracts == 0:
            unrealized_units = Decimal(0)
        elif mark is None:
            unrealized_units = None
        else:
            unrealized_units = mark * open_contracts - position.open_cost
        realized = position.realized_units * CONTRACT_MULTIPLIER
        cost_basis = position.bought_cost * CONTRACT_MULTIPLIER
        charges = position.fees + position.slippage
        gross = None if unrealized_units is None else realized + unrealized_units * CONTRACT_MULTIPLIER
        net = None if gross is None else gross - charges
        average = position.average_cost
        return PositionPnl(
            mark=mark,
            open_quantity=open_contracts,
            average_cost=None if average is None else premium(average),
            cost_basis=cents(cost_basis),
            realized=cents(realized),
            unrealized=None if unrealized_units is None else cents(unrealized_units * CONTRACT_MULTIPLIER),
            gross=None if gross is None else cents(gross),
            fees=cents(position.fees),
            slippage=cents(position.slippage),
            net=None if net is None else cents(net),
            position_percent=None if gross is None or cost_basis == 0 else percent_of(gross, cost_basis),
            net_percent=None if net is None or cost_basis == 0 else percent_of(net, cost_basis),
            trimmed_percent=percent_of(position.sold, position.bought) if position.bought > 0 else Decimal(0),
        )


def trim_contracts(open_contracts: Decimal, percent: Decimal) -> Decimal:
    """The contracts a trim of `percent` of the open position sells."""
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        return open_contracts * percent / HUNDRED
