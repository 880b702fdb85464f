"""The `idempotency_cleanup` Lambda (hourly): deletes Idempotency-Keys older than 48 hours.

A key may be reused after a day (`shared.trades.idempotency.claim`); keeping it a second day
covers a client retrying across midnight, and deleting it then keeps the table small.
"""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (EventBridge schedule): how many keys were deleted."""
    from functions.lambda_context import lambda_settings
    from shared.db import service_tx
    from shared.trades.idempotency import RETENTION_HOURS, purge

    lambda_settings()
    with service_tx() as conn:
        deleted = purge(conn, older_than_hours=RETENTION_HOURS)
    log.info("idempotency keys purged", extra={"deleted": deleted, "older_than_hours": RETENTION_HOURS})
    return {"deleted": deleted}
