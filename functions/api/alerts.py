"""`/api/alerts…`: the admin's alerts listed, and the composer's server side (preview, presets).

The preview runs the same `compose` the action runs, inside a transaction that writes nothing,
so the payload it returns is the payload the action stores and sends.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from flask import Blueprint
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from functions.api.trades.answers import AlertOut
from functions.api.trades.bodies import PreviewBody
from functions.api.trades.routes import action_inputs, core_errors, creation_inputs, draft_trade, now, resolve_channels
from functions.web import openapi
from functions.web.auth import current_user, requires_user
from functions.web.cursors import page_filter, split_page
from functions.web.errors import NotFound, Unprocessable
from functions.web.requests import parse_body, parse_query
from shared.alerts.compose import compose
from shared.alerts.presets import AlertAction, presets_document
from shared.challenges import store as challenge_store
from shared.challenges.line import ChallengeBook
from shared.db import user_tx
from shared.delivery.outbox import deliveries_for_alerts
from shared.discord.limits import limit_report
from shared.trades import store
from shared.trades.ledger import Fill
from shared.trades.lifecycle import Action, InputError

bp = Blueprint("alerts", __name__)


class AlertListQuery(BaseModel):
    """Query of `GET /api/alerts`."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    trade_id: UUID | None = None
    action: AlertAction | None = None
    since: AwareDatetime | None = Field(default=None, description="only alerts created at or after this time")
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


class AlertList(BaseModel):
    """Answer of `GET /api/alerts`: newest first, each with its deliveries; `next_cursor` fetches more."""

    model_config = ConfigDict(defer_build=True)

    alerts: list[AlertOut]
    next_cursor: str | None


class Preview(BaseModel):
    """Answer of `POST /api/alerts/preview`: the payload the action would store and send."""

    model_config = ConfigDict(defer_build=True)

    payload: dict[str, Any]
    limits: dict[str, Any] = Field(description="each counted length beside Discord's limit, and within_limits")
    preset: str | None
    fields: dict[str, bool]
    channel_ids: list[UUID]


class Presets(BaseModel):
    """Answer of `GET /api/alerts/presets`: the field keys, each preset's toggles, each action's defaults."""

    model_config = ConfigDict(defer_build=True)

    fields: list[str]
    presets: dict[str, dict[str, bool]]
    defaults: dict[str, dict[str, bool]]


def _alert(row: dict[str, Any], deliveries: list[dict[str, Any]]) -> AlertOut:
    return AlertOut.model_validate({**row, "deliveries": deliveries})


@bp.get("/api/alerts")
@openapi.operation(
    summary="The admin's alerts, newest first, with their deliveries", tag="alerts", response=AlertList,
    query=AlertListQuery,
)
@requires_user
def list_alerts() -> AlertList:
    query = parse_query(AlertListQuery)
    where, values = page_filter(
        [("trade_id = %s", query.trade_id), ("action = %s", query.action), ("created_at >= %s", query.since)],
        query.cursor,
    )
    with user_tx(current_user()) as conn:
        # Row-level security keeps this to the admin's own alerts and deliveries.
        rows = conn.execute(
            f"select {store.ALERT_COLUMNS} from alerts"  # noqa: S608 - fixed columns and conditions
            f" where {where} order by created_at desc, id desc limit %s",
            (*values, query.limit + 1),
        ).fetchall()
        page, next_cursor = split_page(rows, query.limit)
        deliveries = deliveries_for_alerts(conn, [row["id"] for row in page])
    return AlertList(alerts=[_alert(row, deliveries.get(row["id"], [])) for row in page], next_cursor=next_cursor)


@bp.post("/api/alerts/preview")
@openapi.operation(
    summary="The exact Discord payload an action would send", tag="alerts", response=Preview, body=PreviewBody,
    errors=(404, 409),
)
@requires_user
def preview_alert() -> Preview:
    body = parse_body(PreviewBody)
    user, at = current_user(), now()
    action = Action(body.action)
    inputs = action_inputs(body)
    with user_tx(user) as conn:
        fills: list[Fill] = []
        books: list[ChallengeBook] = []
        if body.trade_id is not None:
            trade = store.get_trade(conn, body.trade_id)
            if trade is None:
                raise NotFound("no such trade", field="trade_id")
            fills = [store.fill_from_row(f) for f in store.list_fills(conn, body.trade_id)]
            books = challenge_store.books_for_trade(conn, body.trade_id)
        else:
            assert body.trade is not None
            try:
                trade = draft_trade(body.trade, at)
            except InputError as error:
                raise Unprocessable(error.message, field=f"trade.{error.field}") from None
            if inputs.price is None and action is Action.ENTER:
                inputs = inputs.model_copy(
                    update={"price": creation_inputs(body.trade, action, body.alert, "trade.").price}
                )
        with core_errors(trade, conn, at):
            composition = compose(trade, fills, action, inputs, body.alert, at, books)
        channels = resolve_channels(conn, user.user_id, body.trade_id, action.value, body.alert)
    return Preview(
        payload=composition.payload,
        limits=limit_report(composition.payload),
        preset=composition.preset,
        fields={str(key): shown for key, shown in composition.fields.items()},
        channel_ids=channels,
    )


@bp.get("/api/alerts/presets")
@openapi.operation(
    summary="Alert presets and each action's default field toggles", tag="alerts", response=Presets
)
@requires_user
def alert_presets() -> Presets:
    return Presets.model_validate(presets_document())
