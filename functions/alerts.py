"""`/api/alerts/preview` and `/api/alerts/presets`: the composer's server side.

The preview runs the same `compose` the action runs, inside a transaction that writes nothing,
so the payload it returns is the payload the action stores and sends.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from functions import openapi
from functions.auth import current_user, requires_user
from functions.bodies import parse_body
from functions.errors import NotFound, Unprocessable
from functions.lambda_adapter import lambda_handler
from functions.trades import action_inputs, core_errors, creation_inputs, draft_trade, now, resolve_channels
from shared.alerts.compose import compose
from shared.alerts.presets import presets_document
from shared.db import user_tx
from shared.discord.limits import limit_report
from shared.trades import store
from shared.trades.bodies import PreviewBody
from shared.trades.ledger import Fill
from shared.trades.lifecycle import Action, InputError

bp = Blueprint("alerts", __name__)
handler = lambda_handler(bp)


@bp.post("/api/alerts/preview")
@requires_user
def preview_alert() -> dict[str, Any]:
    body = parse_body(PreviewBody)
    user, at = current_user(), now()
    action = Action(body.action)
    inputs = action_inputs(body)
    with user_tx(user) as conn:
        fills: list[Fill] = []
        if body.trade_id is not None:
            trade = store.get_trade(conn, body.trade_id)
            if trade is None:
                raise NotFound("no such trade", field="trade_id")
            fills = [store.fill_from_row(f) for f in store.list_fills(conn, body.trade_id)]
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
            composition = compose(trade, fills, action, inputs, body.alert, at)
        channels = resolve_channels(conn, user.user_id, body.trade_id, action.value, body.alert)
    return {
        "payload": composition.payload,
        "limits": limit_report(composition.payload),
        "preset": composition.preset,
        "fields": composition.fields,
        "channel_ids": [str(c) for c in channels],
    }


@bp.get("/api/alerts/presets")
@requires_user
def alert_presets() -> dict[str, Any]:
    return presets_document()


openapi.register(
    "post", "/api/alerts/preview", summary="The exact Discord payload an action would send", tag="alerts",
    body=PreviewBody, responses={200: {"type": "object"}}, errors=(404, 409),
)
openapi.register(
    "get", "/api/alerts/presets", summary="Alert presets and each action's default field toggles", tag="alerts",
    responses={200: {"type": "object"}},
)
