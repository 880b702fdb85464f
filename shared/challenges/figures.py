"""A challenge's figures from the fills ledger of its linked trades. Pure: no I/O.

Definitions (docs/challenges.md):

- A trade is *closed* when it has exited (no contract open), *open* when it is entered, and a
  loaded trade (no fill yet) is counted apart and in nothing else.
- A trade's result is its **net** P&L (`shared.trades.ledger.position_pnl`: gross minus fees and
  slippage), the money the account actually made: won > 0, lost < 0, flat = 0.
- current balance = starting balance + Σ net P&L of the closed trades. Open trades are valued at
  their mark (the trade's current price) apart: `open_pnl`, and `balance_with_open` adds it; an
  open trade without a mark is counted in `open_unpriced` and valued at nothing.
- win rate = won / closed × 100 (a flat trade is not a win); None with nothing closed.
- R of a closed trade = its net P&L / its initial risk, where the initial risk is
  (first buy price − the stop it was entered with) × the first buy's contracts × 100, defined only
  when that stop exists and is below the first buy. Average R is the mean over the closed trades
  that have one; None when none has.
- largest win / loss: the closed trades' highest positive / lowest negative net P&L.
- progress = (current balance − start) / (target − start) × 100 (negative when under water).

Dollars are rounded to the cent and ratios to the hundredth once, at the end (shared.trades.money).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from uuid import UUID

from shared.trades.ledger import Fill, position_pnl, replay
from shared.trades.money import CONTRACT_MULTIPLIER, HUNDRED, cents, hundredths

_PRECISION = 60


@dataclass(frozen=True)
class LinkedTrade:
    """What the figures need of one linked trade: its state, fills, mark and entry stop."""

    trade_id: UUID
    state: str
    fills: tuple[Fill, ...]
    mark: Decimal | None
    entry_stop: Decimal | None


@dataclass(frozen=True)
class ChallengeFigures:
    """A challenge's standing; dollars to the cent, percentages and R to the hundredth."""

    starting_balance: Decimal
    target_balance: Decimal
    current_balance: Decimal
    realized_pnl: Decimal
    open_pnl: Decimal
    balance_with_open: Decimal
    trades: int
    won: int
    lost: int
    flat: int
    open: int
    loaded: int
    open_unpriced: int
    win_rate: Decimal | None
    average_r: Decimal | None
    largest_win: Decimal | None
    largest_loss: Decimal | None
    progress_percent: Decimal
    target_reached: bool


def initial_risk(trade: LinkedTrade) -> Decimal | None:
    """(first buy price − entry stop) × its contracts × 100, when the stop is below the first buy."""
    first = next((fill for fill in trade.fills if fill.side == "buy"), None)
    if first is None or trade.entry_stop is None or trade.entry_stop >= first.price:
        return None
    return (first.price - trade.entry_stop) * first.contracts * CONTRACT_MULTIPLIER


def challenge_figures(
    starting_balance: Decimal, target_balance: Decimal, trades: Sequence[LinkedTrade]
) -> ChallengeFigures:
    """The figures of a challenge starting at `starting_balance` with `trades` linked to it."""
    closed_net: list[Decimal] = []
    r_multiples: list[Decimal] = []
    open_pnl = Decimal(0)
    open_count = loaded = unpriced = 0
    with localcontext() as ctx:
        ctx.prec = _PRECISION
        for trade in trades:
            if not trade.fills:
                loaded += 1
                continue
            position = replay(trade.fills)
            if position.open_contracts == 0:
                net = position_pnl(position, None).net
                assert net is not None  # nothing open: always valued
                closed_net.append(net)
                risk = initial_risk(trade)
                if risk is not None:
                    r_multiples.append(net / risk)
                continue
            open_count += 1
            figures = position_pnl(position, trade.mark)
            if figures.net is None:
                unpriced += 1
            else:
                open_pnl += figures.net
        realized = sum(closed_net, Decimal(0))
        current = starting_balance + realized
        won = sum(1 for net in closed_net if net > 0)
        lost = sum(1 for net in closed_net if net < 0)
        wins = [net for net in closed_net if net > 0]
        losses = [net for net in closed_net if net < 0]
        return ChallengeFigures(
            starting_balance=cents(starting_balance),
            target_balance=cents(target_balance),
            current_balance=cents(current),
            realized_pnl=cents(realized),
            open_pnl=cents(open_pnl),
            balance_with_open=cents(current + open_pnl),
            trades=len(closed_net) + open_count,
            won=won,
            lost=lost,
            flat=len(closed_net) - won - lost,
            open=open_count,
            loaded=loaded,
            open_unpriced=unpriced,
            win_rate=hundredths(Decimal(won) / len(closed_net) * HUNDRED) if closed_net else None,
            average_r=hundredths(sum(r_multiples, Decimal(0)) / len(r_multiples)) if r_multiples else None,
            largest_win=cents(max(wins)) if wins else None,
            largest_loss=cents(min(losses)) if losses else None,
            progress_percent=hundredths((current - starting_balance) / (target_balance - starting_balance) * HUNDRED),
            target_reached=current >= target_balance,
        )
