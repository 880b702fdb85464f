"""The trade lifecycle: which action is allowed from which state, and what it changes.

watching → LOAD → loaded → ENTER → entered → EXIT → exited; ENTER also straight from watching.
UPDATE_SL, TRIM, ADD, TRAIL_STOP keep a trade entered; UPDATE keeps loaded or entered;
UNLOAD deletes a loaded trade; SHARE_EXIT re-posts an exited one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from shared.trades import pnl
from shared.trades.dte import days_to_expiry, default_levels
from shared.trades.models import ActionInputs, Trade, TradeState, UpdateDraft


class Action(StrEnum):
    LOAD = "load"
    ENTER = "enter"
    TRIM = "trim"
    ADD = "add"
    UPDATE_SL = "update_sl"
    TRAIL_STOP = "trail_stop"
    UPDATE = "update"
    EXIT = "exit"
    SHARE_EXIT = "share_exit"
    UNLOAD = "unload"


DELETED: Final = "deleted"
STATES: tuple[TradeState, ...] = ("watching", "loaded", "entered", "exited")

TRANSITIONS: Final[dict[tuple[TradeState, Action], str]] = {
    ("watching", Action.LOAD): "loaded",
    ("watching", Action.ENTER): "entered",
    ("loaded", Action.ENTER): "entered",
    ("loaded", Action.UPDATE): "loaded",
    ("loaded", Action.UNLOAD): DELETED,
    ("entered", Action.TRIM): "entered",
    ("entered", Action.ADD): "entered",
    ("entered", Action.UPDATE_SL): "entered",
    ("entered", Action.TRAIL_STOP): "entered",
    ("entered", Action.UPDATE): "entered",
    ("entered", Action.EXIT): "exited",
    ("exited", Action.SHARE_EXIT): "exited",
}


class TransitionError(Exception):
    """`action` is not allowed from `state`; the message names both and what is allowed."""

    def __init__(self, state: str, action: Action) -> None:
        self.state = state
        self.action = action
        self.allowed = allowed_actions(state)
        allowed = ", ".join(a.value for a in self.allowed) or "nothing"
        super().__init__(f"cannot {action.value} a trade that is {state}; allowed from {state}: {allowed}")


class InputError(Exception):
    """An action's input is missing or impossible; `field` names it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def allowed_actions(state: str) -> list[Action]:
    """The actions allowed from `state`, in declaration order."""
    return [action for (source, action) in TRANSITIONS if source == state]


def next_state(state: str, action: Action) -> str:
    """The state after `action` from `state`, or TransitionError."""
    try:
        return TRANSITIONS[(state, action)]  # type: ignore[index]
    except KeyError:
        raise TransitionError(state, action) from None


# Fields PATCH may change, by state: the contract only while loaded, never the entry after exit.
CONTRACT_FIELDS: Final = frozenset({"ticker", "contract"})
_ALWAYS_EDITABLE: Final = frozenset({"setup_type", "notes", "confluence", "greeks", "trade_type"})
_LIVE_EDITABLE: Final = frozenset(
    {"current_price", "target_price", "stop_loss", "target_underlying", "stop_underlying", "stop_mode"}
)
EDITABLE_FIELDS: Final[dict[str, frozenset[str]]] = {
    "loaded": _ALWAYS_EDITABLE | _LIVE_EDITABLE | CONTRACT_FIELDS | {"entry_price", "quantity"},
    "entered": _ALWAYS_EDITABLE | _LIVE_EDITABLE | {"entry_price", "quantity"},
    "exited": _ALWAYS_EDITABLE | {"exit_price"},
}


def check_editable(state: str, fields: set[str]) -> None:
    """Raise InputError naming the first field that may not change in `state`."""
    editable = EDITABLE_FIELDS.get(state, frozenset())
    for field in sorted(fields):
        if field not in editable:
            raise InputError(field, f"{field} cannot be changed on a trade that is {state}")


@dataclass(frozen=True)
class Step:
    """The result of an action: the trade after it, and the update row it writes (None on unload)."""

    trade: Trade
    update: UpdateDraft | None
    deleted: bool = False


def _move(trade: Trade, price: Decimal | None) -> Decimal | None:
    if trade.entry_price is None or price is None:
        return None
    move = pnl.gross_move_percent(trade.entry_price, price)
    # The trims' realized share never exceeds the largest move, so this bounds it too.
    if abs(move) >= pnl.MAX_RECORDABLE_PERCENT:
        raise InputError(
            "price", f"a move of {move}% from the entry {trade.entry_price} is too large to record; check the price"
        )
    return move


def _required(value: Decimal | None, field: str, what: str) -> Decimal:
    if value is None:
        raise InputError(field, f"{field} is required to {what}")
    return value


def with_default_levels(trade: Trade, now: datetime) -> Trade:
    """`trade` with target and stop defaulted from its premium by DTE when unset."""
    premium = trade.entry_price or trade.current_price
    if premium is None or (trade.target_price is not None and trade.stop_loss is not None):
        return trade
    target, stop = default_levels(premium, days_to_expiry(trade.expiry, now))
    return trade.model_copy(
        update={"target_price": trade.target_price or target, "stop_loss": trade.stop_loss or stop}
    )


def apply_action(trade: Trade, action: Action, inputs: ActionInputs, now: datetime) -> Step:
    """Check the transition and compute the trade after `action` and its update row; no I/O."""
    state = next_state(trade.state, action)
    if action is Action.UNLOAD:
        return Step(trade=trade, update=None, deleted=True)
    changes: dict[str, Any] = {"state": state, "updated_at": now}
    draft: dict[str, Any] = {"type": action.value, "message": inputs.comment}
    if inputs.target_price is not None:
        changes["target_price"] = inputs.target_price
    if inputs.stop_loss is not None:
        changes["stop_loss"] = inputs.stop_loss

    if action is Action.LOAD:
        if days_to_expiry(trade.expiry, now) < 0:
            raise InputError("contract.expiry", f"the contract expired on {trade.expiry.isoformat()}")
        if inputs.price is not None:
            changes["current_price"] = _positive(inputs.price, "price")
        changes["loaded_at"] = now
        draft["price"] = changes.get("current_price", trade.current_price)
    elif action is Action.ENTER:
        if trade.state == "watching" and days_to_expiry(trade.expiry, now) < 0:
            raise InputError("contract.expiry", f"the contract expired on {trade.expiry.isoformat()}")
        entry = _positive(
            _required(_first(inputs.price, trade.entry_price, trade.current_price), "price", "enter"), "price"
        )
        changes.update(entry_price=entry, current_price=entry, entered_at=now)
        if inputs.quantity is not None:
            changes["quantity"] = inputs.quantity
        if trade.state == "watching":
            changes["loaded_at"] = None
        draft.update(price=entry, pnl_percent=Decimal("0.00"), quantity=changes.get("quantity", trade.quantity))
    elif action is Action.TRIM:
        percent = _required(inputs.trim_percent, "trim_percent", "trim")
        remaining = pnl.HUNDRED - trade.trimmed_percent
        if percent > remaining:
            raise InputError("trim_percent", f"only {remaining}% of the position remains to trim")
        price = _positive(_required(_first(inputs.price, trade.current_price), "price", "trim"), "price")
        move = _move(trade, price)
        changes.update(
            current_price=price,
            trimmed_percent=trade.trimmed_percent + percent,
            realized_percent=trade.realized_percent
            + pnl.realized_percent([pnl.Trim(percent, move if move is not None else Decimal(0))]),
        )
        draft.update(price=price, pnl_percent=move, trim_percent=percent)
    elif action is Action.ADD:
        price = _positive(_required(_first(inputs.price, trade.current_price), "price", "add"), "price")
        if inputs.quantity is not None and trade.entry_price is not None:
            total = trade.quantity + inputs.quantity
            average = (trade.entry_price * trade.quantity + price * inputs.quantity) / total
            changes.update(quantity=total, entry_price=average.quantize(Decimal("0.0001")))
        draft.update(price=price, pnl_percent=_move(trade, price), quantity=inputs.quantity)
        changes["current_price"] = price
    elif action in (Action.UPDATE_SL, Action.TRAIL_STOP):
        fallback = trade.stop_loss if action is Action.TRAIL_STOP else None
        stop = _required(_first(inputs.stop_loss, fallback), "stop_loss", "move the stop")
        changes["stop_mode"] = "trailing" if action is Action.TRAIL_STOP else "fixed"
        if inputs.price is not None:
            changes["current_price"] = _positive(inputs.price, "price")
        draft.update(price=stop, pnl_percent=_move(trade, changes.get("current_price", trade.current_price)))
    elif action is Action.UPDATE:
        if inputs.price is not None:
            changes["current_price"] = _positive(inputs.price, "price")
        current = changes.get("current_price", trade.current_price)
        draft.update(price=current, pnl_percent=_move(trade, current) if state == "entered" else None)
    elif action is Action.EXIT:
        price = _required(_first(inputs.price, trade.current_price), "price", "exit")
        move = _move(trade, price)
        changes.update(exit_price=price, exited_at=now)
        if price > 0:
            changes["current_price"] = price
        draft.update(price=price, pnl_percent=move)
    elif action is Action.SHARE_EXIT:
        draft.update(price=trade.exit_price, pnl_percent=_move(trade, trade.exit_price))

    after = trade.model_copy(update=changes)
    # model_copy skips validation; re-validate so an impossible trade never leaves the core.
    after = Trade.model_validate(after.model_dump())
    return Step(trade=after, update=UpdateDraft(**draft))


def _positive(value: Decimal, field: str) -> Decimal:
    if value <= 0:
        raise InputError(field, f"{field} must be greater than 0")
    return value



def _first(*values: Decimal | None) -> Decimal | None:
    return next((v for v in values if v is not None), None)
