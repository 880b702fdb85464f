"""`POST /api/alerts/deliveries/<id>/retry`: send a dead or failed delivery of one's own again."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint

from functions import openapi
from functions.auth import current_user, requires_user
from functions.discord import DeliveryAnswer
from functions.errors import Conflict, NotFound
from functions.lambda_adapter import lambda_handler
from shared.db import user_tx
from shared.discord.dispatch import dispatch_after_commit
from shared.discord.outbox import get_deliveries

bp = Blueprint("deliveries", __name__)
handler = lambda_handler(bp)

RETRYABLE = ("dead", "failed")


@bp.post("/api/alerts/deliveries/<uuid:delivery_id>/retry")
@requires_user
def retry_delivery(delivery_id: UUID) -> dict[str, Any]:
    user = current_user()
    with user_tx(user) as conn:
        row = conn.execute(
            "select d.status, d.channel_id, c.is_active, c.last_error as channel_error"
            " from alert_deliveries d left join discord_channels c on c.id = d.channel_id"
            " where d.id = %s for update of d",
            (delivery_id,),
        ).fetchone()
        if row is None:
            raise NotFound("delivery not found", field="delivery_id")
        if row["status"] not in RETRYABLE:
            raise Conflict(
                f"only dead or failed deliveries can be retried; this one is {row['status']}",
                field="delivery_id",
                code="not_retryable",
            )
        if row["channel_id"] is None:
            raise Conflict("the channel was deleted", field="delivery_id", code="channel_deleted")
        if not row["is_active"]:
            raise Conflict(
                f"the channel is inactive ({row['channel_error'] or 'deactivated'}); fix its webhook first",
                field="delivery_id",
                code="channel_inactive",
            )
        # A retry gets a fresh day before it gives up, and keeps its place in the channel's order.
        conn.execute(
            "update alert_deliveries set status = 'pending', next_attempt_at = now(), claimed_until = null,"
            " give_up_at = now() + interval '24 hours', updated_at = now() where id = %s",
            (delivery_id,),
        )
    dispatch_after_commit([delivery_id])
    with user_tx(user) as conn:
        [delivery] = get_deliveries(conn, [delivery_id])
    return {"delivery": delivery}


openapi.register(
    "post", "/api/alerts/deliveries/{delivery_id}/retry", summary="Send a dead or failed delivery again",
    tag="discord", responses={200: DeliveryAnswer},
    path_params={"delivery_id": {"type": "string", "format": "uuid"}}, errors=(409,),
)
