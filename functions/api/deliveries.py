"""`/api/alerts/deliveries…`: an admin's deliveries listed (newest first), and one sent again."""

from __future__ import annotations

from typing import Literal
from uuid import UUID

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from functions.api.discord_channels import DeliveryAnswer
from functions.web import openapi
from functions.web.auth import current_user, requires_user
from functions.web.cursors import page_filter, split_page
from functions.web.errors import Conflict, NotFound
from functions.web.requests import parse_query
from shared.db import user_tx
from shared.delivery.dispatch import dispatch_after_commit
from shared.delivery.outbox import DELIVERY_COLUMNS, DeliveryOut, delivery_view, get_deliveries

bp = Blueprint("deliveries", __name__)

RETRYABLE = ("dead", "failed")


class DeliveryListQuery(BaseModel):
    """Query of `GET /api/alerts/deliveries`."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    status: Literal["pending", "sending", "sent", "failed", "dead"] | None = None
    channel_id: UUID | None = None
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


class DeliveryList(BaseModel):
    """Answer of `GET /api/alerts/deliveries`: newest first; `next_cursor` fetches the next page."""

    model_config = ConfigDict(defer_build=True)

    deliveries: list[DeliveryOut]
    next_cursor: str | None


@bp.get("/api/alerts/deliveries")
@openapi.operation(
    summary="The admin's deliveries, newest first (e.g. ?status=dead to find ones to retry)", tag="discord",
    response=DeliveryList, query=DeliveryListQuery,
)
@requires_user
def list_deliveries() -> DeliveryList:
    query = parse_query(DeliveryListQuery)
    where, values = page_filter(
        [("d.status = %s", query.status), ("d.channel_id = %s", query.channel_id)], query.cursor, alias="d."
    )
    with user_tx(current_user()) as conn:
        # Row-level security keeps this to the admin's own deliveries (and channels, for names).
        rows = conn.execute(
            f"select {DELIVERY_COLUMNS} from alert_deliveries d"  # noqa: S608 - fixed columns and conditions
            " left join discord_channels c on c.id = d.channel_id"
            f" where {where} order by d.created_at desc, d.id desc limit %s",
            (*values, query.limit + 1),
        ).fetchall()
    page, next_cursor = split_page(rows, query.limit)
    return DeliveryList(
        deliveries=[DeliveryOut.model_validate(delivery_view(row)) for row in page], next_cursor=next_cursor
    )


@bp.post("/api/alerts/deliveries/<uuid:delivery_id>/retry")
@openapi.operation(
    summary="Send a dead or failed delivery again", tag="discord", response=DeliveryAnswer, errors=(409,)
)
@requires_user
def retry_delivery(delivery_id: UUID) -> DeliveryAnswer:
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
    return DeliveryAnswer.model_validate({"delivery": delivery})

