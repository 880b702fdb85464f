"""The effective trade: the trade with the admin's edited prices applied.

Preview and send both call `effective_trade` through `compose`, once, so what an admin
previews is what the action saves and sends.
"""

from __future__ import annotations

from typing import Any

from shared.alerts.models import AlertPrices
from shared.trades.models import Trade

# Composer price name → trade field.
PRICE_FIELDS: dict[str, str] = {
    "entry": "entry_price",
    "current": "current_price",
    "target": "target_price",
    "stop": "stop_loss",
    "target_underlying": "target_underlying",
    "stop_underlying": "stop_underlying",
}


def effective_trade(trade: Trade, prices: AlertPrices | None) -> Trade:
    """`trade` with every price set in `prices` replacing its own; unset prices keep the trade's."""
    if prices is None:
        return trade
    changes: dict[str, Any] = {
        PRICE_FIELDS[name]: value for name, value in prices.model_dump(exclude_none=True).items()
    }
    if not changes:
        return trade
    return Trade.model_validate({**trade.model_dump(), **changes})
