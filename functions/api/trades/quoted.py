"""A new trade's current price from its contract's snapshot, through the market data cache.

Asked before the trade's transaction opens, so no connection is held while Massive answers; the
lookup is the market routes' cached one (`MarketData.contract`), so an admin who just opened the
chain costs Massive nothing more. Upstream trouble is told as the market routes tell it
(functions/web/upstream.py).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict

from functions.web.errors import Unprocessable
from shared.market_data.cache import CacheBusy
from shared.massive.errors import MassiveError
from shared.trades.sources import premium_of_mid


class SnapshotQuote(BaseModel):
    """The contract's quote the current price was taken from."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    occ: str
    bid: float | None
    ask: float | None
    mid: float | None
    as_of: datetime


def quoted_mid(occ: str) -> tuple[Decimal, SnapshotQuote]:
    """The contract's mid as a premium, and the quote it came from; 422 naming current_price without one."""
    # Imported here: only a load without a price reads Massive.
    from functions.web.upstream import market_data, upstream_error

    try:
        answer = market_data().contract(occ)
    except (MassiveError, CacheBusy) as error:
        raise upstream_error(error, f"snapshot of {occ}") from None
    contract = answer.contract
    quote = SnapshotQuote(occ=contract.occ, bid=contract.bid, ask=contract.ask, mid=contract.mid, as_of=answer.as_of)
    premium = premium_of_mid(contract.mid)
    if premium is None:
        raise Unprocessable(
            f"Massive's snapshot of {contract.occ} has no bid and ask to take a mid from; give current_price",
            field="current_price",
        )
    return premium, quote
