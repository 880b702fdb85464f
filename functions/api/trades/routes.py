"""`/api/trades…`: the trade lifecycle enforced by the server, each action one transaction.

An action locks the trade row, checks the transition, saves the trade, writes its update row and,
when the admin sends an alert, the alert and one delivery per channel, all in one transaction.
Deliveries are posted right after the commit (`dispatch_after_commit`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

import psycopg
from flask import Blueprint, current_app, request

from functions.api.trades.answers import TradeAnswer, TradeCreated, TradeDetail, TradeEdited, TradeList
from functions.api.trades.bodies import (
    ActionInputsBody,
    ContractIn,
    TradeActionBody,
    TradeCreate,
    TradeDraft,
    TradeListQuery,
    TradePatch,
)
from functions.api.trades.quoted import quoted_mid
from functions.api.trades.views import alert_view, fill_view, trade_view, update_view
from functions.web import openapi
from functions.web.auth import current_user, requires_user
from functions.web.cursors import decode_cursor, encode_cursor
from functions.web.errors import Conflict, NotFound, Unprocessable
from functions.web.requests import parse_body, parse_query
from shared.alerts.compose import Composition, compose
from shared.alerts.models import AlertBlock
from shared.auth import VerifiedToken
from shared.challenges import store as challenge_store
from shared.db import Connection, user_tx
from shared.delivery.dispatch import dispatch_after_commit
from shared.delivery.outbox import (
    channels_for_action,
    deliveries_for_alerts,
    enqueue_deliveries,
    get_deliveries,
    global_default_channel,
)
from shared.discord.errors import ChannelInactive, ChannelNotFound
from shared.trades import idempotency, store
from shared.trades.contract import resolve_contract
from shared.trades.dte import days_to_expiry, trade_type_for, utc_now
from shared.trades.lifecycle import (
    CONTRACT_FIELDS,
    Action,
    InputError,
    NotEditable,
    Step,
    TransitionError,
    check_editable,
    edit,
    next_state,
    with_default_levels,
)
from shared.trades.models import ActionInputs, Side, Trade
from shared.trades.sources import PRICE_FIELDS, price_sources

bp = Blueprint("trades", __name__)
log = logging.getLogger(__name__)

# App config keys: a clock and a dispatcher other than the real ones (tests, the benchmark).
CLOCK_KEY = "HONEYDRIP_CLOCK"
DISPATCH_KEY = "HONEYDRIP_DISPATCH"
# A second admin acting on a locked trade waits this long, then hears 409.
LOCK_TIMEOUT = "3s"
IDEMPOTENCY_HEADER = "Idempotency-Key"
# Which `default_for` entry of a channel an action's alert goes to by default.
CHANNEL_KIND = {"load": "load", "enter": "enter", "exit": "exit", "share_exit": "exit"}
_NOT_NULLABLE = frozenset({"ticker", "contract", "entry_price", "exit_price", "stop_mode", "quantity", "trade_type"})


def now() -> datetime:
    """The request's time (the app's configured clock in tests)."""
    clock: Callable[[], datetime] | None = current_app.config.get(CLOCK_KEY)
    return clock() if clock is not None else utc_now()


def _dispatch(delivery_ids: Sequence[UUID]) -> None:
    dispatcher: Callable[[Sequence[UUID]], None] = current_app.config.get(DISPATCH_KEY, dispatch_after_commit)
    dispatcher(delivery_ids)


# ---------------------------------------------------------------------------------------------
# Errors of the core and the database, as API errors.
# ---------------------------------------------------------------------------------------------


def stored_trade_view(conn: Connection, trade: Trade, at: datetime) -> dict[str, Any]:
    """A saved trade as the API shows it, with its fills and linked channels read on `conn`."""
    trade_id = _id(trade)
    fills = [store.fill_from_row(r) for r in store.list_fills(conn, trade_id)]
    return trade_view(trade, fills, store.linked_channels(conn, trade_id), at)


def _conflict(error: TransitionError, trade: Trade, conn: Connection, at: datetime) -> Conflict:
    return Conflict(
        str(error),
        field="action",
        code="invalid_transition",
        details={
            "state": error.state,
            "action": error.action.value,
            "allowed": [a.value for a in error.allowed],
            "trade": stored_trade_view(conn, trade, at) if trade.id else trade_view(trade, [], [], at),
        },
    )


@contextmanager
def core_errors(trade: Trade, conn: Connection, at: datetime) -> Iterator[None]:
    """Turn the core's TransitionError into 409 (with the trade) and InputError into 422."""
    try:
        yield
    except TransitionError as error:
        raise _conflict(error, trade, conn, at) from None
    except NotEditable as error:
        raise Conflict(error.message, field=error.field, code="not_editable") from None
    except InputError as error:
        raise Unprocessable(error.message, field=error.field) from None


def _id(trade: Trade) -> UUID:
    assert trade.id is not None
    return trade.id


def _locked_trade(conn: Connection, trade_id: UUID) -> Trade:
    conn.execute("select set_config('lock_timeout', %s, true)", (LOCK_TIMEOUT,))
    try:
        trade = store.get_trade(conn, trade_id, lock=True)
    except psycopg.errors.LockNotAvailable:
        raise Conflict(
            "another admin is acting on this trade right now; reload it and try again", code="trade_busy"
        ) from None
    if trade is None:
        raise NotFound("no such trade", field="trade_id")
    return trade


def _check_if_match(trade: Trade, conn: Connection, at: datetime) -> None:
    header = request.headers.get("If-Match")
    if header is None:
        return
    text = header.strip().removeprefix("W/").strip('"')
    # ASCII digits only ("²" is a str.isdigit()), and no more than an integer version can have.
    if not (text.isascii() and text.isdigit() and len(text) <= 10):
        raise Unprocessable("If-Match must be the trade's version, e.g. \"3\"", field="If-Match")
    if int(text) != trade.version:
        raise Conflict(
            f"the trade changed (version {trade.version}, you acted on {text}); reload it",
            code="version_conflict",
            details={"trade": stored_trade_view(conn, trade, at)},
        )


# ---------------------------------------------------------------------------------------------
# Idempotency-Key
# ---------------------------------------------------------------------------------------------


@contextmanager
def _action_tx(user: VerifiedToken) -> Iterator[tuple[Connection, idempotency.Replay | None]]:
    """The action's transaction with its Idempotency-Key (if any) claimed: a Replay means answer it."""
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None and not 1 <= len(key) <= idempotency.MAX_KEY_LENGTH:
        raise Unprocessable(
            f"{IDEMPOTENCY_HEADER} must be 1 to {idempotency.MAX_KEY_LENGTH} characters", field=IDEMPOTENCY_HEADER
        )
    if key is not None and "\x00" in key:  # Postgres text cannot hold it
        raise Unprocessable(f"{IDEMPOTENCY_HEADER} must not contain the NUL character", field=IDEMPOTENCY_HEADER)
    fingerprint = idempotency.request_hash(request.method, request.path, request.get_data(cache=True))
    try:
        with idempotency.claimed_tx(lambda: user_tx(user), key, fingerprint) as claimed:
            yield claimed
    except idempotency.KeyReused:
        raise Unprocessable(
            f"this {IDEMPOTENCY_HEADER} was already used for a different request",
            field=IDEMPOTENCY_HEADER,
            code="idempotency_key_reused",
        ) from None
    except idempotency.KeyInFlight:
        raise Conflict(
            f"a request with this {IDEMPOTENCY_HEADER} is still being processed; retry in a moment",
            field=IDEMPOTENCY_HEADER,
            code="idempotency_key_in_flight",
            headers={"Retry-After": "1"},
        ) from None


def _remember(conn: Connection, status: int, body: Any) -> None:
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None:
        idempotency.remember(conn, key, status, body)


def _replayed(conn: Connection, replay: idempotency.Replay) -> tuple[Any, int, dict[str, str]]:
    body = replay.body
    alert = body.get("alert") if isinstance(body, dict) else None
    if alert:
        # The stored answer is from before delivery; the deliveries' status now is what matters.
        alert["deliveries"] = deliveries_for_alerts(conn, [UUID(alert["id"])]).get(UUID(alert["id"]), [])
    return (body if body is not None else ""), replay.status, {"Idempotent-Replayed": "true"}


# ---------------------------------------------------------------------------------------------
# Alerts and their channels
# ---------------------------------------------------------------------------------------------


def resolve_channels(
    conn: Connection, user_id: UUID, trade_id: UUID | None, action: str, block: AlertBlock
) -> list[UUID]:
    """The block's channels, else the trade's linked channels, else the action's defaults, else the global one.

    The default channels of the active challenges the trade is in join whichever it is.
    """
    chosen = _chosen_channels(conn, user_id, trade_id, action, block)
    if trade_id is None:
        return chosen
    return list(dict.fromkeys([*chosen, *challenge_store.default_channels_for_trade(conn, trade_id)]))


def _chosen_channels(
    conn: Connection, user_id: UUID, trade_id: UUID | None, action: str, block: AlertBlock
) -> list[UUID]:
    if block.channel_ids:
        return list(dict.fromkeys(block.channel_ids))
    if trade_id is not None:
        linked = store.active_linked_channels(conn, trade_id)
        if linked:
            return linked
    defaults = channels_for_action(conn, user_id, CHANNEL_KIND.get(action, "update"))
    if defaults:
        return defaults
    fallback = global_default_channel(conn, user_id)
    return [fallback] if fallback is not None else []


def _send_alert(
    conn: Connection,
    user: VerifiedToken,
    trade: Trade,
    action: Action,
    composition: Composition,
    block: AlertBlock | None,
    update_id: UUID,
    at: datetime,
) -> tuple[dict[str, Any] | None, list[UUID]]:
    if block is None or not block.send:
        return None, []
    channels = resolve_channels(conn, user.user_id, _id(trade), action.value, block)
    if not channels:
        raise Unprocessable(
            "no channel to send to: choose channel_ids, link channels to the trade, or set a default channel",
            field="alert.channel_ids",
            code="no_channel",
        )
    row = store.insert_alert(
        conn,
        trade_id=_id(trade),
        update_id=update_id,
        action=action.value,
        payload=composition.payload,
        preset=composition.preset,
        fields={str(key): shown for key, shown in composition.fields.items()},
        channel_ids=channels,
        now=at,
    )
    try:
        delivery_ids = enqueue_deliveries(
            conn, user_id=user.user_id, channel_ids=channels, payload=composition.payload, alert_id=row["id"]
        )
    except ChannelNotFound as error:
        raise Unprocessable(
            f"channel {error.channel_id} is not one of your channels", field="alert.channel_ids"
        ) from None
    except ChannelInactive as error:
        raise Unprocessable(error.message, field="alert.channel_ids", code="channel_inactive") from None
    if not store.linked_channels(conn, _id(trade)):
        store.link_channels(conn, _id(trade), channels)
    return alert_view(row, get_deliveries(conn, delivery_ids)), delivery_ids


def _deliver(user: VerifiedToken, response: dict[str, Any], delivery_ids: list[UUID]) -> None:
    """Post the committed deliveries now and show their status in the answer."""
    if not delivery_ids:
        return
    _dispatch(delivery_ids)
    with user_tx(user) as conn:
        response["alert"]["deliveries"] = get_deliveries(conn, delivery_ids)


def action_inputs(body: ActionInputsBody) -> ActionInputs:
    """The lifecycle's inputs from an action (or preview) body."""
    return ActionInputs.model_validate(body.model_dump(include=set(ActionInputs.model_fields)))


def creation_inputs(body: TradeDraft, action: Action, block: AlertBlock | None, field_prefix: str = "") -> ActionInputs:
    """The inputs of a new trade's first action: entering takes the body's entry price, never the load price."""
    if action is not Action.ENTER:
        return ActionInputs(bid=body.bid, ask=body.ask)
    edited_entry = block is not None and block.prices is not None and block.prices.entry is not None
    if body.entry_price is None and not edited_entry:
        raise Unprocessable("entry_price is required to enter a trade", field=f"{field_prefix}entry_price")
    return ActionInputs(price=body.entry_price, quantity=body.quantity, bid=body.bid, ask=body.ask)


def _write_step(
    conn: Connection, trade_id: UUID, step: Step, stored_fills: list[dict[str, Any]], at: datetime
) -> dict[str, Any]:
    """Write an action's update row, its fills and any corrected fill; returns the update row."""
    assert step.update is not None
    update = store.insert_update(conn, trade_id, step.update, at)
    store.correct_fills(conn, stored_fills, step.corrected)
    store.insert_fills(conn, trade_id, update["id"], step.fills, at)
    return update


# ---------------------------------------------------------------------------------------------
# Routes
# ---------------------------------------------------------------------------------------------


def _contract_parts(contract: ContractIn) -> tuple[str, Decimal | None, date | None, Side | None]:
    return contract.symbol, contract.strike, contract.expiry, contract.type


def draft_trade(body: TradeDraft, at: datetime, current_price: Decimal | None = None) -> Trade:
    """A new (watching) trade from its body: contract checked, type from DTE, default target and stop.

    `current_price` stands in for the body's when it gave none (the contract's quoted mid)."""
    contract = resolve_contract(body.ticker, *_contract_parts(body.contract))
    trade = Trade(
        ticker=contract.ticker,
        contract=contract.symbol,
        underlying=contract.underlying,
        strike=contract.strike,
        expiry=contract.expiry,
        side=contract.side,
        trade_type=body.trade_type or trade_type_for(days_to_expiry(contract.expiry, at)),
        state="watching",
        quantity=body.quantity or 1,
        entry_price=body.entry_price,
        current_price=body.current_price if body.current_price is not None else current_price,
        target_price=body.target_price,
        stop_loss=body.stop_loss,
        target_underlying=body.target_underlying,
        stop_underlying=body.stop_underlying,
        setup_type=body.setup_type,
        notes=body.notes,
        confluence=body.confluence,
        greeks=body.greeks,
    )
    return with_default_levels(trade, at)


def _edited_prices(block: AlertBlock | None) -> dict[str, Any]:
    return block.prices.model_dump() if block is not None and block.prices is not None else {}


@bp.post("/api/trades")
@openapi.operation(
    summary="Load a trade, or enter it straight away", tag="trades", response=TradeCreated, status=201,
    body=TradeCreate, headers=(IDEMPOTENCY_HEADER,), errors=(404, 409, 502, 503, 504),
)
@requires_user
def create_trade() -> tuple[Any, int, dict[str, str]] | tuple[dict[str, Any], int]:
    body = parse_body(TradeCreate)
    user, at = current_user(), now()
    action = Action(body.action)
    edited = _edited_prices(body.alert)
    try:
        draft = draft_trade(body, at)
    except InputError as error:
        raise Unprocessable(error.message, field=error.field) from None
    snapshot = None
    # Loading without a current price takes the contract's mid (entering makes the entry the current price).
    if action is Action.LOAD and body.current_price is None and edited.get("current") is None:
        mid, snapshot = quoted_mid(draft.contract)
        try:
            draft = draft_trade(body, at, current_price=mid)
        except InputError as error:
            raise Unprocessable(error.message, field=error.field) from None
    with _action_tx(user) as (conn, replay):
        if replay is not None:
            return _replayed(conn, replay)
        with core_errors(draft, conn, at):
            composition = compose(draft, [], action, creation_inputs(body, action, body.alert), body.alert, at)
        step = composition.step
        saved = store.insert_trade(conn, step.trade, at)
        update = _write_step(conn, _id(saved), step, [], at)
        alert, delivery_ids = _send_alert(conn, user, saved, action, composition, body.alert, update["id"], at)
        requested = body.model_dump(include=set(PRICE_FIELDS))
        sources = price_sources(
            saved, requested=requested, edited=edited, entered=action is Action.ENTER, quoted=snapshot is not None
        )
        response = {
            "trade": trade_view(saved, step.ledger, store.linked_channels(conn, _id(saved)), at),
            "update": update_view(update),
            "alert": alert,
            "price_sources": sources,
            "snapshot": snapshot.model_dump(mode="json") if snapshot is not None else None,
        }
        _remember(conn, 201, response)
    log.info("trade created", extra={"trade_id": str(saved.id), "action": action.value, "alerted": bool(alert),
                                     "quoted": snapshot is not None})
    _deliver(user, response, delivery_ids)
    return response, 201


@bp.get("/api/trades")
@openapi.operation(
    summary="The admin's trades, newest first", tag="trades", response=TradeList, query=TradeListQuery
)
@requires_user
def list_trades() -> dict[str, Any]:
    query = parse_query(TradeListQuery)
    after = decode_cursor(query.cursor) if query.cursor else None
    at = now()
    with user_tx(current_user()) as conn:
        page = store.list_trades(conn, state=query.state, limit=query.limit + 1, after=after)
        more = len(page) > query.limit
        page = page[: query.limit]
        channels = store.channels_by_trade(conn, [_id(t) for t in page])
        fills = store.fills_by_trade(conn, [_id(t) for t in page])
    next_cursor = _page_cursor(page[-1]) if more and page else None
    return {
        "trades": [trade_view(t, fills[_id(t)], channels[_id(t)], at) for t in page],
        "next_cursor": next_cursor,
    }


def _page_cursor(trade: Trade) -> str:
    assert trade.created_at is not None
    return encode_cursor(trade.created_at, _id(trade))


@bp.get("/api/trades/<uuid:trade_id>")
@openapi.operation(summary="A trade with its updates and alerts", tag="trades", response=TradeDetail)
@requires_user
def get_trade(trade_id: UUID) -> tuple[dict[str, Any], int, dict[str, str]]:
    at = now()
    with user_tx(current_user()) as conn:
        trade = store.get_trade(conn, trade_id)
        if trade is None:
            raise NotFound("no such trade", field="trade_id")
        updates = store.list_updates(conn, trade_id)
        fills = store.list_fills(conn, trade_id)
        alerts = store.list_alerts(conn, trade_id)
        deliveries = deliveries_for_alerts(conn, [a["id"] for a in alerts])
        channels = store.linked_channels(conn, trade_id)
    return (
        {
            "trade": trade_view(trade, [store.fill_from_row(f) for f in fills], channels, at),
            "updates": [update_view(u) for u in updates],
            "fills": [fill_view(f) for f in fills],
            "alerts": [alert_view(a, deliveries.get(a["id"], [])) for a in alerts],
        },
        200,
        {"ETag": f'"{trade.version}"'},
    )


@bp.post("/api/trades/<uuid:trade_id>/actions")
@openapi.operation(
    summary="Act on a trade (enter, trim, add, …, exit)", tag="trades", response=TradeAnswer,
    body=TradeActionBody, headers=(IDEMPOTENCY_HEADER, "If-Match"), errors=(409,),
)
@requires_user
def act_on_trade(trade_id: UUID) -> tuple[Any, int, dict[str, str]] | tuple[dict[str, Any], int]:
    body = parse_body(TradeActionBody)
    user, at = current_user(), now()
    action = Action(body.action)
    with _action_tx(user) as (conn, replay):
        if replay is not None:
            return _replayed(conn, replay)
        trade = _locked_trade(conn, trade_id)
        _check_if_match(trade, conn, at)
        stored_fills = store.list_fills(conn, trade_id)
        fills = [store.fill_from_row(f) for f in stored_fills]
        with core_errors(trade, conn, at):
            books = challenge_store.books_for_trade(conn, trade_id)
            composition = compose(trade, fills, action, action_inputs(body), body.alert, at, books)
        step = composition.step
        saved = store.save_trade(conn, step.trade, at)
        update = _write_step(conn, trade_id, step, stored_fills, at)
        alert, delivery_ids = _send_alert(conn, user, saved, action, composition, body.alert, update["id"], at)
        response = {
            "trade": trade_view(saved, step.ledger, store.linked_channels(conn, trade_id), at),
            "update": update_view(update),
            "alert": alert,
        }
        _remember(conn, 200, response)
    log.info(
        "trade action",
        extra={"trade_id": str(trade_id), "action": action.value, "state": saved.state, "alerted": bool(alert)},
    )
    _deliver(user, response, delivery_ids)
    return response, 200


@bp.patch("/api/trades/<uuid:trade_id>")
@openapi.operation(
    summary="Edit the fields still editable in the trade's state", tag="trades", response=TradeEdited,
    body=TradePatch, headers=("If-Match",), errors=(409,),
)
@requires_user
def edit_trade(trade_id: UUID) -> dict[str, Any]:
    body = parse_body(TradePatch)
    given = set(body.model_fields_set) - {"channel_ids"}
    for name in sorted(given & _NOT_NULLABLE):
        if getattr(body, name) is None:
            raise Unprocessable(f"{name} cannot be cleared", field=name)
    user, at = current_user(), now()
    with user_tx(user) as conn:
        trade = _locked_trade(conn, trade_id)
        _check_if_match(trade, conn, at)
        with core_errors(trade, conn, at):
            check_editable(trade.state, given)
        changes: dict[str, Any] = {name: getattr(body, name) for name in given - CONTRACT_FIELDS}
        if given & CONTRACT_FIELDS:
            changes.update(_contract_changes(trade, body, at))
        if given:
            stored_fills = store.list_fills(conn, trade_id)
            with core_errors(trade, conn, at):
                step = edit(trade, [store.fill_from_row(f) for f in stored_fills], changes, at, check=False)
            trade = store.save_trade(conn, step.trade, at)
            store.correct_fills(conn, stored_fills, step.corrected)
        if body.channel_ids is not None:
            _relink(conn, trade_id, body.channel_ids)
        return {"trade": stored_trade_view(conn, trade, at)}


def _contract_changes(trade: Trade, body: TradePatch, at: datetime) -> dict[str, Any]:
    contract = body.contract
    try:
        parts = _contract_parts(contract) if contract else (trade.contract, trade.strike, trade.expiry, trade.side)
        resolved = resolve_contract(body.ticker or trade.ticker, *parts)
    except InputError as error:
        raise Unprocessable(error.message, field=error.field) from None
    changes: dict[str, Any] = {
        "ticker": resolved.ticker,
        "contract": resolved.symbol,
        "underlying": resolved.underlying,
        "strike": resolved.strike,
        "expiry": resolved.expiry,
        "side": resolved.side,
    }
    if body.trade_type is None:
        changes["trade_type"] = trade_type_for(days_to_expiry(resolved.expiry, at))
    return changes


def _relink(conn: Connection, trade_id: UUID, channel_ids: list[UUID]) -> None:
    own = store.own_channels(conn, channel_ids)
    for index, channel_id in enumerate(channel_ids):
        if channel_id not in own:
            raise Unprocessable(f"channel {channel_id} is not one of your channels", field=f"channel_ids[{index}]")
    store.link_channels(conn, trade_id, channel_ids, replace=True)


@bp.delete("/api/trades/<uuid:trade_id>")
@openapi.operation(
    summary="Unload a loaded trade", tag="trades", response=None, status=204,
    headers=(IDEMPOTENCY_HEADER, "If-Match"), errors=(409,),
)
@requires_user
def unload_trade(trade_id: UUID) -> tuple[Any, int, dict[str, str]] | tuple[str, int]:
    user, at = current_user(), now()
    with _action_tx(user) as (conn, replay):
        if replay is not None:
            return _replayed(conn, replay)
        trade = _locked_trade(conn, trade_id)
        _check_if_match(trade, conn, at)
        try:
            next_state(trade.state, Action.UNLOAD)
        except TransitionError as error:
            raise _conflict(error, trade, conn, at) from None
        store.delete_trade(conn, trade_id)
        _remember(conn, 204, None)
    log.info("trade unloaded", extra={"trade_id": str(trade_id)})
    return "", 204
