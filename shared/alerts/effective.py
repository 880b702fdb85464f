"""The composer's edited prices as the trade fields they change.

An admin may edit prices in the composer before sending; `compose` hands them to the lifecycle as an
explicit edit (`shared.trades.lifecycle.edit`), once, so what an admin previews is what the action saves
and sends.
"""

from __future__ import annotations

from decimal import Decimal

from shared.alerts.models import AlertPrices

# Composer price name → trade field.
PRICE_FIELDS: dict[str, str] = {
    "entry": "entry_price",
    "current": "current_price",
    "target": "target_price",
    "stop": "stop_loss",
    "target_underlying": "target_underlying",
    "stop_underlying": "stop_underlying",
}
FIELD_PRICES: dict[str, str] = {field: name for name, field in PRICE_FIELDS.items()}


def price_edits(prices: AlertPrices | None) -> dict[str, Decimal]:
    """The trade fields the edited prices set (unset prices change nothing)."""
    if prices is None:
        return {}
    return {PRICE_FIELDS[name]: value for name, value in prices.model_dump(exclude_none=True).items()}
