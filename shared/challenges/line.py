"""The 🏆 challenge line of a linked trade's entry and exit alerts. Pure: no I/O.

One embed field, "🏆 Challenge", with one line per active challenge the trade is in:
`<name> · $12,345.67 · 60.00% win rate · 5 trades`. The balance is the current balance (closed
trades); the trade being exited is counted closed, the one being entered counted open. The
composer adds the field before fitting the payload to Discord's limits, so a long name is cut
there like any other field, and the preview shows exactly what is sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Final
from uuid import UUID

from shared.challenges.figures import ChallengeFigures, LinkedTrade, challenge_figures
from shared.discord.payloads import EmbedField, WebhookPayload
from shared.trades.ledger import Fill
from shared.trades.lifecycle import Step

FIELD_NAME: Final = "🏆 Challenge"
# The actions whose alerts carry the line.
LINE_ACTIONS: Final = frozenset({"enter", "exit", "share_exit"})


@dataclass(frozen=True)
class ChallengeBook:
    """An active challenge a trade is linked to, with every trade linked to it (that one included)."""

    challenge_id: UUID
    name: str
    starting_balance: Decimal
    target_balance: Decimal
    trades: tuple[LinkedTrade, ...]


def with_step(
    book: ChallengeBook, trade_id: UUID, state: str, fills: Sequence[Fill], mark: Decimal | None,
    stop: Decimal | None,
) -> ChallengeBook:
    """`book` with the acted-on trade as the action leaves it (its entry stop kept once known)."""
    kept = [t for t in book.trades if t.trade_id != trade_id]
    before = next((t for t in book.trades if t.trade_id == trade_id), None)
    entry_stop = before.entry_stop if before is not None and before.entry_stop is not None else stop
    now = LinkedTrade(
        trade_id=trade_id, state=state, fills=tuple(fills), mark=mark,
        entry_stop=None if state == "loaded" else entry_stop,
    )
    return replace(book, trades=(*kept, now))


def trades_text(count: int) -> str:
    return f"{count} trade{'' if count == 1 else 's'}"


def line_text(name: str, figures: ChallengeFigures) -> str:
    """`Name · $12,345.67 · 60.00% win rate · 5 trades` (no win rate before a trade has closed)."""
    parts = [name.strip(), f"${figures.current_balance:,.2f}"]
    if figures.win_rate is not None:
        parts.append(f"{figures.win_rate:.2f}% win rate")
    parts.append(trades_text(figures.trades))
    return " · ".join(parts)


def challenge_field(books: Sequence[ChallengeBook]) -> EmbedField | None:
    """The 🏆 field for `books` (already holding the acted-on trade's new state); None without any."""
    lines = [
        line_text(book.name, challenge_figures(book.starting_balance, book.target_balance, book.trades))
        for book in books
    ]
    if not lines:
        return None
    return EmbedField(name=FIELD_NAME, value="\n".join(lines), inline=False)


def add_challenge_line(
    payload: WebhookPayload, step: Step, action: str, shown: bool, books: Sequence[ChallengeBook]
) -> WebhookPayload:
    """`payload` with the 🏆 field appended when the action carries it, it is shown, and the trade is in a challenge."""
    trade = step.trade
    if not books or not shown or action not in LINE_ACTIONS or trade.id is None or not payload.embeds:
        return payload
    field = challenge_field(
        [with_step(b, trade.id, trade.state, step.ledger, trade.current_price, trade.stop_loss) for b in books]
    )
    if field is not None:
        payload.embeds[0].fields.append(field)
    return payload
