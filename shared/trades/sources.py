"""Where each price of a new trade came from, so the admin can tell a quoted mid from a typed one."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Literal

from shared.trades.models import Trade

PriceSource = Literal["request", "alert", "snapshot", "entry", "default"]
PRICE_FIELDS = ("entry_price", "current_price", "target_price", "stop_loss")
# The alert composer's names for the same prices (AlertPrices).
ALERT_NAMES = {"entry_price": "entry", "current_price": "current", "target_price": "target", "stop_loss": "stop"}
# Premiums are stored to four places; Massive's mid is to a tenth of a cent already.
_PLACES = Decimal("0.0001")


def premium_of_mid(mid: float | None) -> Decimal | None:
    """A snapshot's mid as a storable premium; None when there is no positive mid to take."""
    if mid is None or mid <= 0:
        return None
    premium = Decimal(str(mid)).quantize(_PLACES, rounding=ROUND_HALF_EVEN)
    return premium if premium > 0 else None


def price_sources(
    trade: Trade,
    *,
    requested: Mapping[str, object],
    edited: Mapping[str, object],
    entered: bool,
    quoted: bool,
) -> dict[str, PriceSource | None]:
    """Each price field's source: the alert's edit, the body, the snapshot, the entry fill or a default.

    `requested` and `edited` are the body's and the alert composer's values (None: not given);
    `entered`: the trade was entered (its current price is the entry); `quoted`: the current price is
    the snapshot's mid. A field with no value has no source (None).
    """
    sources: dict[str, PriceSource | None] = {}
    for name in PRICE_FIELDS:
        value = getattr(trade, name)
        source: PriceSource | None
        if value is None:
            source = None
        elif edited.get(ALERT_NAMES[name]) is not None:
            source = "alert"
        elif name == "current_price" and entered:
            source = "entry"
        elif requested.get(name) is not None:
            source = "request"
        elif name == "current_price" and quoted:
            source = "snapshot"
        else:
            source = "default"
        sources[name] = source
    return sources
