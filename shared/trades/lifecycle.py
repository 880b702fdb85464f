"""The trade lifecycle: which action is allowed from which state, what it changes, and the fills it makes.

watching → LOAD → loaded → ENTER → entered → EXIT → exited; ENTER also straight from watching.
UPDATE_SL, TRIM, ADD, TRAIL_STOP keep a trade entered; UPDATE keeps loaded or entered;
UNLOAD deletes a loaded trade; SHARE_EXIT re-posts an exited one.

ENTER and ADD buy, TRIM and EXIT sell (`shared.trades.ledger`). Every option here is bought, so a
target lies above and a stop below the premium it is set against.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, Final

from pydantic import ValidationError

from shared.trades import ledger, pnl
from shared.trades.dte import days_to_expiry, default_levels, is_expired, trading_ends
from shared.trades.ledger import Fill, Position, PositionPnl, Quote
from shared.trades.models import ActionInputs, Trade, TradeState, UpdateDraft
from shared.trades.money import percent_of


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


class NotEditable(InputError):
    """A field that cannot change in the trade's state (or with its fills); the API answers 409."""


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
    """Raise NotEditable naming the first field that may not change in `state`."""
    editable = EDITABLE_FIELDS.get(state, frozenset())
    for name in sorted(fields):
        if name not in editable:
            raise NotEditable(name, f"{name} cannot be changed on a trade that is {state}")


@dataclass(frozen=True)
class Step:
    """What an action or an edit leaves: the trade, its update row (None on unload and edits) and the ledger.

    `fills` are the fills the step adds; `corrected` maps a ledger index to the fill that replaces it
    (an edited entry or exit price); `ledger` is every fill after the step, in order.
    """

    trade: Trade
    update: UpdateDraft | None
    ledger: tuple[Fill, ...] = ()
    fills: tuple[Fill, ...] = ()
    corrected: dict[int, Fill] = field(default_factory=dict)
    deleted: bool = False

    @property
    def position(self) -> Position:
        return ledger.replay(self.ledger)

    def pnl(self) -> PositionPnl:
        """The whole position's P&L at the trade's mark."""
        return trade_pnl(self.trade, self.ledger)


def mark_of(trade: Trade) -> Decimal | None:
    """The premium the open contracts are valued at: the exit once exited, else the current premium."""
    return trade.exit_price if trade.state == "exited" else trade.current_price


def trade_pnl(trade: Trade, fills: Sequence[Fill]) -> PositionPnl:
    """The P&L of `fills` at `trade`'s mark."""
    return ledger.position_pnl(ledger.replay(fills), mark_of(trade))


def trade_risk_reward(trade: Trade) -> Decimal | None:
    """R:R of the target and stop against the entry (the current premium before entry); None unless both hold."""
    reference = trade.entry_price or trade.current_price
    if reference is None or trade.target_price is None or trade.stop_loss is None:
        return None
    return pnl.risk_reward(reference, trade.target_price, trade.stop_loss)


def _required(value: Decimal | None, name: str, what: str) -> Decimal:
    if value is None:
        raise InputError(name, f"{name} is required to {what}")
    return value


def _positive(value: Decimal, name: str) -> Decimal:
    if value <= 0:
        raise InputError(name, f"{name} must be greater than 0")
    return value


def _first(*values: Decimal | None) -> Decimal | None:
    return next((v for v in values if v is not None), None)


def _still_trades(trade: Trade, now: datetime, verb: str) -> None:
    if is_expired(trade.expiry, now):
        ends = trading_ends(trade.expiry)
        raise InputError(
            "contract.expiry",
            f"the contract stopped trading at {ends:%Y-%m-%d %H:%M} New York time; it can no longer be {verb}",
        )


def check_levels(trade: Trade, names: Sequence[str], reference: Decimal | None, what: str) -> None:
    """A bought option's target lies above `reference` and its stop below it; InputError names the one that doesn't."""
    if reference is None:
        return
    target = trade.target_price if "target_price" in names else None
    stop = trade.stop_loss if "stop_loss" in names else None
    if target is not None and target <= reference:
        raise InputError("target_price", f"the target {target} must lie above the {what} {reference}")
    if stop is not None and stop >= reference:
        raise InputError("stop_loss", f"the stop {stop} must lie below the {what} {reference}")


def _validated(trade: Trade, changes: dict[str, Any]) -> Trade:
    # model_copy skips validation: a figure the server derived is checked like input, so it never reaches the database.
    try:
        return Trade.model_validate({**trade.model_dump(), **changes})
    except ValidationError as error:
        first = error.errors()[0]
        name = ".".join(str(part) for part in first["loc"]) or "trade"
        raise InputError(name, f"{name}: {first['msg']}") from None


def with_default_levels(trade: Trade, now: datetime) -> Trade:
    """`trade` with target and stop defaulted from its premium by DTE when unset (and on the right side of it)."""
    premium = trade.entry_price or trade.current_price
    if premium is None or (trade.target_price is not None and trade.stop_loss is not None):
        return trade
    target, stop = default_levels(premium, days_to_expiry(trade.expiry, now))
    changes: dict[str, Decimal] = {}
    if trade.target_price is None and target > premium:
        changes["target_price"] = target
    if trade.stop_loss is None and stop < premium:
        changes["stop_loss"] = stop
    try:
        return Trade.model_validate({**trade.model_dump(), **changes})
    except ValidationError:
        raise InputError(
            "target_price", f"the default target for a premium of {premium} is too large to record; set target_price"
        ) from None


def _quote(inputs: ActionInputs) -> Quote | None:
    if inputs.bid is None and inputs.ask is None:
        return None
    if inputs.bid is None or inputs.ask is None:
        raise InputError("bid" if inputs.bid is None else "ask", "give both bid and ask, or neither")
    if inputs.bid > inputs.ask:
        raise InputError("ask", f"the ask {inputs.ask} is below the bid {inputs.bid}")
    return Quote(inputs.bid, inputs.ask)


def _recordable_percent(value: Decimal | None) -> Decimal | None:
    if value is not None and abs(value) >= pnl.MAX_RECORDABLE_PERCENT:
        raise InputError("price", f"a P&L of {value}% is too large to record; check the price")
    return value


def _trim_size(inputs: ActionInputs, open_contracts: Decimal) -> tuple[Decimal, Decimal, str]:
    """(contracts sold, percent of the open position, the field that set it)."""
    if (inputs.trim_percent is None) == (inputs.quantity is None):
        raise InputError("trim_percent", "give trim_percent or quantity (contracts) to trim, not both")
    if inputs.trim_percent is not None:
        percent, name = inputs.trim_percent, "trim_percent"
        contracts = ledger.trim_contracts(open_contracts, percent)
    else:
        contracts = Decimal(inputs.quantity or 0)
        if contracts > open_contracts:
            raise InputError("quantity", f"only {open_contracts.normalize():f} contracts are open")
        percent, name = max(percent_of(contracts, open_contracts), Decimal("0.01")), "quantity"
    if contracts >= open_contracts:
        raise InputError(name, f"that sells all {open_contracts.normalize():f} open contracts: exit the trade instead")
    return contracts, percent, name


def apply_action(
    trade: Trade, fills: Sequence[Fill], action: Action, inputs: ActionInputs, now: datetime
) -> Step:
    """Check the transition and compute the trade after `action`, its update row and its fills; no I/O."""
    state = next_state(trade.state, action)
    before = tuple(fills)
    if action is Action.UNLOAD:
        return Step(trade=trade, update=None, ledger=before, deleted=True)
    quote = _quote(inputs)
    open_contracts = ledger.replay(before).open_contracts
    changes: dict[str, Any] = {"state": state, "updated_at": now}
    draft: dict[str, Any] = {"type": action.value, "message": inputs.comment}
    levels = [name for name in ("target_price", "stop_loss") if getattr(inputs, name) is not None]
    for name in levels:
        changes[name] = getattr(inputs, name)
    new: list[Fill] = []
    reference: tuple[Decimal | None, str] = (None, "")

    if action is Action.LOAD:
        _still_trades(trade, now, "loaded")
        if inputs.price is not None:
            changes["current_price"] = _positive(inputs.price, "price")
        changes["loaded_at"] = now
        draft["price"] = changes.get("current_price", trade.current_price)
        levels = ["target_price", "stop_loss"]
        reference = (draft["price"], "current premium")
    elif action is Action.ENTER:
        _still_trades(trade, now, "entered")
        entry = _positive(_required(inputs.price, "price", "enter"), "price")
        quantity = inputs.quantity or trade.quantity
        new.append(ledger.make_fill("buy", Decimal(quantity), entry, quote))
        changes.update(entry_price=entry, current_price=entry, entered_at=now, quantity=quantity)
        if trade.state == "watching":
            changes["loaded_at"] = None
        draft.update(price=entry, quantity=quantity)
        levels = ["target_price", "stop_loss"]
        reference = (entry, "entry")
    elif action is Action.TRIM:
        price = _positive(_required(_first(inputs.price, trade.current_price), "price", "trim"), "price")
        contracts, percent, _ = _trim_size(inputs, open_contracts)
        new.append(ledger.make_fill("sell", contracts, price, quote))
        changes["current_price"] = price
        whole = contracts == contracts.to_integral_value()
        draft.update(price=price, trim_percent=percent, quantity=int(contracts) if whole else None)
    elif action is Action.ADD:
        _still_trades(trade, now, "added to")
        if inputs.quantity is None:
            raise InputError("quantity", "quantity (contracts to buy) is required to add")
        price = _positive(_required(_first(inputs.price, trade.current_price), "price", "add"), "price")
        new.append(ledger.make_fill("buy", Decimal(inputs.quantity), price, quote))
        changes["current_price"] = price
        draft.update(price=price, quantity=inputs.quantity)
    elif action in (Action.UPDATE_SL, Action.TRAIL_STOP):
        fallback = trade.stop_loss if action is Action.TRAIL_STOP else None
        stop = _required(_first(inputs.stop_loss, fallback), "stop_loss", "move the stop")
        changes["stop_mode"] = "trailing" if action is Action.TRAIL_STOP else "fixed"
        if inputs.price is not None:
            changes["current_price"] = _positive(inputs.price, "price")
        draft["price"] = stop
        levels = ["stop_loss"] if action is Action.UPDATE_SL or inputs.stop_loss is not None else []
        reference = (changes.get("current_price", trade.current_price), "current premium")
    elif action is Action.UPDATE:
        if inputs.price is not None:
            changes["current_price"] = _positive(inputs.price, "price")
        draft["price"] = changes.get("current_price", trade.current_price)
        reference = (draft["price"], "current premium")
    elif action is Action.EXIT:
        price = _required(_first(inputs.price, trade.current_price), "price", "exit")
        if open_contracts > 0:
            new.append(ledger.make_fill("sell", open_contracts, price, quote))
        changes.update(exit_price=price, exited_at=now)
        if price > 0:
            changes["current_price"] = price
        draft["price"] = price
    elif action is Action.SHARE_EXIT:
        draft["price"] = trade.exit_price

    after = _validated(trade, changes)
    if action not in (Action.LOAD, Action.ENTER):
        reference = (reference[0] or after.current_price, reference[1] or "current premium")
    check_levels(after, levels, reference[0], reference[1])
    step = Step(trade=after, update=None, ledger=before + tuple(new), fills=tuple(new))
    figures = step.pnl() if step.position.bought > 0 else None
    draft["pnl_percent"] = _recordable_percent(figures.position_percent if figures else None)
    return Step(trade=after, update=UpdateDraft(**draft), ledger=step.ledger, fills=step.fills)


def edit(trade: Trade, fills: Sequence[Fill], changes: dict[str, Any], now: datetime, *, check: bool = True) -> Step:
    """Apply edited fields (PATCH, a composer's prices); an edited entry or exit corrects the fill it priced.

    `check=False` when the caller already checked the names it was given (PATCH's contract becomes several fields).
    """
    if check and trade.state != "watching":
        check_editable(trade.state, set(changes))
    before = tuple(fills)
    after = _validated(trade, {**changes, "updated_at": now})
    corrected: dict[int, Fill] = {}
    entry_edited = {"entry_price", "quantity"} & set(changes)
    if entry_edited and before:
        name = sorted(entry_edited)[0]
        if len(before) != 1:
            raise NotEditable(name, f"{name} can be corrected only before any trim or add; later fills priced from it")
        if after.entry_price is None:
            raise InputError("entry_price", "an entered trade keeps its entry price")
        corrected[0] = ledger.make_fill("buy", Decimal(after.quantity), after.entry_price)
    if "exit_price" in changes and before and before[-1].side == "sell":
        if after.exit_price is None:
            raise InputError("exit_price", "an exited trade keeps its exit price")
        corrected[len(before) - 1] = ledger.make_fill("sell", before[-1].contracts, after.exit_price)
    levels = [name for name in ("target_price", "stop_loss") if name in changes]
    check_levels(after, levels, after.current_price, "current premium")
    result = tuple(corrected.get(index, fill) for index, fill in enumerate(before))
    try:
        ledger.replay(result)
    except ledger.LedgerError as error:
        raise InputError(sorted(changes)[0], str(error)) from None
    _recordable_percent(trade_pnl(after, result).position_percent if result else None)
    return Step(trade=after, update=None, ledger=result, corrected=corrected)
