"""The trade state machine: every action from every state, and what each action changes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.trades.ledger import Fill, make_fill
from shared.trades.lifecycle import (
    DELETED,
    STATES,
    TRANSITIONS,
    Action,
    InputError,
    NotEditable,
    Step,
    TransitionError,
    allowed_actions,
    apply_action,
    check_editable,
    edit,
    next_state,
    with_default_levels,
)
from shared.trades.models import ActionInputs, Trade

D = Decimal
NOW = datetime(2025, 12, 1, 15, 0, tzinfo=UTC)

EXPECTED: dict[tuple[str, Action], str] = {
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
EVERY_PAIR = [(state, action) for state in STATES for action in Action]


def trade(state: str = "entered", **kw: Any) -> Trade:
    values: dict[str, Any] = {
        "ticker": "SPY",
        "contract": "O:SPY251219C00650000",
        "underlying": "SPY",
        "strike": D(650),
        "expiry": date(2025, 12, 19),
        "side": "call",
        "trade_type": "Swing",
        "state": state,
        "current_price": D("1.20"),
    }
    if state in ("entered", "exited"):
        values.update(entry_price=D("1.20"), stop_loss=D("0.60"), target_price=D("2.40"))
    if state == "exited":
        values["exit_price"] = D("1.80")
    values.update(kw)
    return Trade(**values)


def inputs(**kw: Any) -> ActionInputs:
    return ActionInputs(**kw)


def fills_of(t: Trade) -> list[Fill]:
    """The ledger a trade in its state has: its entry, and its exit once exited."""
    if t.state not in ("entered", "exited") or t.entry_price is None:
        return []
    fills = [make_fill("buy", D(t.quantity), t.entry_price)]
    if t.state == "exited" and t.exit_price is not None:
        fills.append(make_fill("sell", D(t.quantity), t.exit_price))
    return fills


def act(t: Trade, action: Action, given: ActionInputs, fills: list[Fill] | None = None) -> Step:
    return apply_action(t, fills_of(t) if fills is None else fills, action, given, NOW)


# Inputs that make each action possible, so only the transition decides.
ENOUGH: dict[Action, ActionInputs] = {
    Action.ENTER: ActionInputs(price=D("1.20")),
    Action.TRIM: ActionInputs(trim_percent=D(50)),
    Action.ADD: ActionInputs(quantity=1),
    Action.UPDATE_SL: ActionInputs(stop_loss=D("0.90")),
}


def test_the_transition_table_is_exactly_the_lifecycle() -> None:
    assert dict(TRANSITIONS) == EXPECTED


@pytest.mark.parametrize(("state", "action"), EVERY_PAIR)
def test_every_action_from_every_state(state: str, action: Action) -> None:
    expected = EXPECTED.get((state, action))
    if expected is None:
        with pytest.raises(TransitionError) as caught:
            act(trade(state), action, ENOUGH.get(action, inputs()))
        assert f"cannot {action.value} a trade that is {state}" in str(caught.value)
        return
    step = act(trade(state), action, ENOUGH.get(action, inputs()))
    if expected == DELETED:
        assert step.deleted and step.update is None
    else:
        assert step.trade.state == expected
        assert step.update is not None and step.update.type == action.value


@pytest.mark.parametrize(("state", "action"), EVERY_PAIR)
def test_next_state_agrees_with_the_table(state: str, action: Action) -> None:
    if (state, action) in EXPECTED:
        assert next_state(state, action) == EXPECTED[(state, action)]
    else:
        with pytest.raises(TransitionError):
            next_state(state, action)


def test_a_refused_action_names_both_and_what_is_allowed() -> None:
    with pytest.raises(TransitionError, match="cannot trim a trade that is loaded; allowed from loaded: enter, update"):
        next_state("loaded", Action.TRIM)


def test_nothing_is_allowed_from_a_deleted_trade() -> None:
    assert allowed_actions(DELETED) == []
    assert "allowed from deleted: nothing" in str(TransitionError(DELETED, Action.ENTER))


def test_load_stamps_the_time_and_keeps_the_premium() -> None:
    step = act(trade("watching"), Action.LOAD, inputs(price=D("1.35")))
    assert (step.trade.loaded_at, step.trade.current_price) == (NOW, D("1.35"))
    assert step.update is not None and step.update.price == D("1.35")
    assert step.fills == ()


def test_loading_an_expired_contract_names_the_expiry() -> None:
    with pytest.raises(InputError) as caught:
        act(trade("watching", expiry=date(2025, 11, 28)), Action.LOAD, inputs())
    assert caught.value.field == "contract.expiry"


def test_enter_buys_the_quantity_at_the_entry_price() -> None:
    step = act(trade("loaded"), Action.ENTER, inputs(price=D("1.25"), quantity=3))
    assert (step.trade.entry_price, step.trade.current_price, step.trade.quantity) == (D("1.25"), D("1.25"), 3)
    assert step.trade.entered_at == NOW
    # 3 × $0.65 fees; 0.5 % of 1.25 × 300 = $1.875 → $1.88 slippage.
    assert step.fills == (Fill("buy", D(3), D("1.25"), D("1.95"), D("1.88")),)
    assert step.update is not None and step.update.pnl_percent == D("0.00")


def test_entering_never_defaults_to_the_load_price() -> None:
    with pytest.raises(InputError, match="price is required to enter") as caught:
        act(trade("loaded"), Action.ENTER, inputs())
    assert caught.value.field == "price"


def test_enter_at_zero_is_refused() -> None:
    with pytest.raises(InputError, match="price must be greater than 0"):
        act(trade("loaded"), Action.ENTER, inputs(price=D(0)))


def test_entering_straight_from_watching_never_was_loaded() -> None:
    step = act(trade("watching"), Action.ENTER, inputs(price=D("1.10")))
    assert step.trade.loaded_at is None and step.trade.state == "entered"


def test_the_quote_sets_the_entry_fills_slippage() -> None:
    step = act(trade("loaded"), Action.ENTER, inputs(price=D("1.10"), quantity=2, bid=D("1.00"), ask=D("1.10")))
    # Half the 0.10 spread × 2 contracts × 100.
    assert step.fills[0].slippage == D("10.00")


def test_a_quote_needs_both_sides_in_order() -> None:
    with pytest.raises(InputError) as one_sided:
        act(trade("loaded"), Action.ENTER, inputs(price=D("1.10"), bid=D("1.00")))
    with pytest.raises(InputError) as crossed:
        act(trade("loaded"), Action.ENTER, inputs(price=D("1.10"), bid=D("1.20"), ask=D("1.10")))
    assert (one_sided.value.field, crossed.value.field) == ("ask", "ask")


def test_trim_sells_its_percent_of_the_contracts_open_now() -> None:
    t = trade(quantity=10)
    first = act(t, Action.TRIM, inputs(trim_percent=D(50), price=D("1.80")))
    assert first.fills[0].contracts == D(5)
    second = act(first.trade, Action.TRIM, inputs(trim_percent=D(50), price=D("1.80")), list(first.ledger))
    # Half of the 5 still open, not half of the original 10.
    assert second.fills[0].contracts == D("2.5")
    assert second.update is not None and second.update.trim_percent == D(50)


def test_trim_records_the_fill_and_the_whole_positions_pnl() -> None:
    step = act(trade(quantity=2), Action.TRIM, inputs(trim_percent=D(50), price=D("1.80")))
    assert step.update is not None
    # 1 sold at +0.60 ($60), 1 open at +0.60 ($60): $120 on $240 = 50.00 %.
    assert (step.update.trim_percent, step.update.pnl_percent, step.update.price) == (D(50), D("50.00"), D("1.80"))
    assert (step.update.quantity, step.fills[0].side) == (1, "sell")


def test_trim_by_contracts_records_its_share_of_the_open_position() -> None:
    step = act(trade(quantity=4), Action.TRIM, inputs(quantity=1, price=D("1.50")))
    assert step.fills[0].contracts == D(1)
    assert step.update is not None and step.update.trim_percent == D("25.00")


def test_trim_takes_a_percent_or_contracts_not_both() -> None:
    with pytest.raises(InputError) as both:
        act(trade(quantity=4), Action.TRIM, inputs(quantity=1, trim_percent=D(10)))
    with pytest.raises(InputError) as neither:
        act(trade(), Action.TRIM, inputs())
    assert (both.value.field, neither.value.field) == ("trim_percent", "trim_percent")


def test_a_trim_that_would_close_everything_asks_for_an_exit() -> None:
    with pytest.raises(InputError, match="exit the trade instead") as caught:
        act(trade(quantity=2), Action.TRIM, inputs(trim_percent=D(100)))
    assert caught.value.field == "trim_percent"


def test_trimming_more_contracts_than_are_open_says_how_many_are() -> None:
    with pytest.raises(InputError, match="only 2 contracts are open") as caught:
        act(trade(quantity=2), Action.TRIM, inputs(quantity=3))
    assert caught.value.field == "quantity"


def test_add_buys_more_and_leaves_the_entry_as_it_was() -> None:
    step = act(trade(quantity=1), Action.ADD, inputs(price=D("0.80"), quantity=1))
    assert (step.trade.quantity, step.trade.entry_price, step.trade.current_price) == (1, D("1.20"), D("0.80"))
    assert step.fills[0].side == "buy" and step.position.open_contracts == D(2)
    assert step.pnl().average_cost == D("1.0000")


def test_add_needs_the_contracts_it_buys() -> None:
    with pytest.raises(InputError) as caught:
        act(trade(), Action.ADD, inputs(price=D("1.50")))
    assert caught.value.field == "quantity"


def test_update_sl_sets_a_fixed_stop() -> None:
    step = act(trade(stop_mode="trailing"), Action.UPDATE_SL, inputs(stop_loss=D("1.00")))
    assert (step.trade.stop_loss, step.trade.stop_mode) == (D("1.00"), "fixed")
    assert step.update is not None and step.update.price == D("1.00")


def test_update_sl_needs_the_new_stop() -> None:
    with pytest.raises(InputError) as caught:
        act(trade(), Action.UPDATE_SL, inputs())
    assert caught.value.field == "stop_loss"


def test_a_stop_at_or_above_the_mark_is_refused() -> None:
    with pytest.raises(InputError, match=r"below the current premium 1\.20") as caught:
        act(trade(), Action.UPDATE_SL, inputs(stop_loss=D("1.20")))
    assert caught.value.field == "stop_loss"


def test_a_stop_trailed_above_the_entry_is_fine() -> None:
    step = act(trade(current_price=D("2.00")), Action.TRAIL_STOP, inputs(stop_loss=D("1.50")))
    assert (step.trade.stop_loss, step.trade.stop_mode) == (D("1.50"), "trailing")


def test_trail_stop_switches_to_trailing_and_keeps_the_stop_when_none_is_given() -> None:
    step = act(trade(), Action.TRAIL_STOP, inputs())
    assert (step.trade.stop_mode, step.trade.stop_loss) == ("trailing", D("0.60"))


def test_update_moves_current_target_and_stop() -> None:
    step = act(trade(), Action.UPDATE, inputs(price=D("1.50"), target_price=D("3.00"), stop_loss=D("1.00")))
    assert (step.trade.current_price, step.trade.target_price, step.trade.stop_loss) == (D("1.50"), D("3.00"), D("1"))
    assert step.update is not None and step.update.pnl_percent == D("25.00")


def test_an_update_before_entry_has_no_pnl() -> None:
    step = act(trade("loaded"), Action.UPDATE, inputs(price=D("1.50")))
    assert step.update is not None and step.update.pnl_percent is None


def test_exit_sells_everything_open_at_the_price() -> None:
    step = act(trade(quantity=3), Action.EXIT, inputs(price=D("2.40")))
    assert (step.trade.exit_price, step.trade.exited_at, step.trade.state) == (D("2.40"), NOW, "exited")
    assert (step.fills[0].side, step.fills[0].contracts) == ("sell", D(3))
    assert step.update is not None and step.update.pnl_percent == D("100.00")


@pytest.mark.parametrize("action", [Action.TRIM, Action.UPDATE, Action.EXIT])
def test_a_pnl_too_large_to_record_is_refused_naming_the_price(action: Action) -> None:
    # From a $0.0001 entry, $1,000,000 is a move of 10^12 %: more than numeric(12, 2) holds.
    cheap = trade(entry_price=D("0.0001"), current_price=D("0.0001"), stop_loss=None, quantity=2)
    with pytest.raises(InputError) as refused:
        act(cheap, action, inputs(price=D(1_000_000), trim_percent=D(50)))
    assert refused.value.field == "price"


def test_an_option_may_exit_worthless() -> None:
    step = act(trade(), Action.EXIT, inputs(price=D(0)))
    assert step.trade.exit_price == D(0)
    assert step.trade.current_price == D("1.20")
    assert step.update is not None and step.update.pnl_percent == D("-100.00")


def test_share_exit_reposts_the_result_without_changing_the_trade() -> None:
    before = trade("exited")
    step = act(before, Action.SHARE_EXIT, inputs())
    assert step.trade.model_dump(exclude={"updated_at"}) == before.model_dump(exclude={"updated_at"})
    assert step.fills == ()
    assert step.update is not None and step.update.pnl_percent == D("50.00")


def test_the_comment_becomes_the_update_message() -> None:
    step = act(trade(), Action.UPDATE, inputs(comment="holding through CPI"))
    assert step.update is not None and step.update.message == "holding through CPI"


def test_applying_an_action_leaves_the_given_trade_unchanged() -> None:
    before = trade()
    act(before, Action.EXIT, inputs(price=D(2)))
    assert before.state == "entered" and before.exit_price is None


# --- levels respect the direction of a bought option ---------------------------------------------


def test_a_target_below_the_load_premium_is_refused() -> None:
    with pytest.raises(InputError, match="above the current premium") as caught:
        act(trade("watching", current_price=D("1.00")), Action.LOAD, inputs(target_price=D("0.50")))
    assert caught.value.field == "target_price"


def test_a_stop_above_the_entry_is_refused_on_entering() -> None:
    with pytest.raises(InputError, match=r"below the entry 1\.00") as caught:
        act(trade("loaded", stop_loss=D("0.50"), target_price=D("2")), Action.ENTER,
            inputs(price=D("1.00"), stop_loss=D("1.10")))
    assert caught.value.field == "stop_loss"


def test_an_entry_above_the_loaded_target_asks_for_a_new_target() -> None:
    loaded = trade("loaded", target_price=D("1.50"), stop_loss=D("0.60"))
    with pytest.raises(InputError) as caught:
        act(loaded, Action.ENTER, inputs(price=D("1.60")))
    assert caught.value.field == "target_price"
    assert act(loaded, Action.ENTER, inputs(price=D("1.60"), target_price=D("2.50"))).trade.target_price == D("2.50")


# --- expiry: a contract trades until 16:00 New York time on its expiration date ------------------


EXPIRY = date(2025, 12, 19)
# December: New York is UTC−5, so 16:00 there is 21:00 UTC.
BEFORE_CLOSE = datetime(2025, 12, 19, 20, 59, tzinfo=UTC)
AT_CLOSE = datetime(2025, 12, 19, 21, 0, tzinfo=UTC)


@pytest.mark.parametrize(("action", "state", "given"), [
    (Action.LOAD, "watching", ActionInputs()),
    (Action.ENTER, "loaded", ActionInputs(price=D("1.00"))),
    (Action.ENTER, "watching", ActionInputs(price=D("1.00"))),
    (Action.ADD, "entered", ActionInputs(quantity=1)),
])
def test_buying_stops_at_the_close_of_the_expiration_date(action: Action, state: str, given: ActionInputs) -> None:
    t = trade(state, expiry=EXPIRY, stop_loss=D("0.50"), target_price=D("2.00"))
    apply_action(t, fills_of(t), action, given, BEFORE_CLOSE)
    with pytest.raises(InputError, match="stopped trading at 2025-12-19 16:00 New York time") as caught:
        apply_action(t, fills_of(t), action, given, AT_CLOSE)
    assert caught.value.field == "contract.expiry"


@pytest.mark.parametrize(("action", "given"), [
    (Action.TRIM, ActionInputs(trim_percent=D(50), price=D("0.10"))),
    (Action.EXIT, ActionInputs(price=D(0))),
])
def test_an_expired_trade_can_still_be_trimmed_and_closed(action: Action, given: ActionInputs) -> None:
    t = trade(expiry=EXPIRY, quantity=2)
    assert apply_action(t, fills_of(t), action, given, AT_CLOSE).fills


# --- edits that price a fill ---------------------------------------------------------------------


def test_editing_the_entry_of_a_fresh_position_corrects_its_fill() -> None:
    t = trade(quantity=2)
    step = edit(t, fills_of(t), {"entry_price": D("1.10")}, NOW)
    assert step.corrected == {0: make_fill("buy", D(2), D("1.10"))}
    assert step.trade.entry_price == D("1.10")


def test_the_entry_cannot_be_edited_once_later_fills_priced_from_it() -> None:
    t = trade(quantity=2)
    trimmed = act(t, Action.TRIM, inputs(quantity=1, price=D("1.50")))
    with pytest.raises(NotEditable) as caught:
        edit(trimmed.trade, list(trimmed.ledger), {"entry_price": D("1.10")}, NOW)
    assert caught.value.field == "entry_price"


def test_editing_the_exit_price_corrects_the_exit_fill() -> None:
    t = trade("exited", quantity=2)
    step = edit(t, fills_of(t), {"exit_price": D("2.00")}, NOW)
    assert step.corrected == {1: make_fill("sell", D(2), D("2.00"))}
    assert step.pnl().gross == D("160.00")


def test_default_levels_fill_only_what_is_unset() -> None:
    filled = with_default_levels(trade("watching", current_price=D("1.00"), target_price=D("5.00")), NOW)
    assert (filled.target_price, filled.stop_loss) == (D("5.00"), D("0.30"))


def test_a_default_that_would_lie_on_the_wrong_side_is_left_unset() -> None:
    # 1 % of a cent rounds to the cent itself: no stop below a $0.01 premium exists.
    filled = with_default_levels(trade("watching", current_price=D("0.01")), NOW)
    assert (filled.target_price, filled.stop_loss) == (D("0.02"), None)


def test_a_default_target_too_large_to_record_names_the_target() -> None:
    with pytest.raises(InputError) as caught:
        with_default_levels(trade("watching", current_price=D("50000000")), NOW)
    assert caught.value.field == "target_price"


def test_no_premium_means_no_default_levels() -> None:
    bare = trade("watching", current_price=None)
    assert with_default_levels(bare, NOW) == bare


@pytest.mark.parametrize(
    ("state", "field", "editable"),
    [
        ("loaded", "contract", True),
        ("entered", "contract", False),
        ("exited", "contract", False),
        ("entered", "entry_price", True),
        ("exited", "exit_price", True),
        ("exited", "entry_price", False),
        ("exited", "notes", True),
        ("exited", "stop_loss", False),
        ("loaded", "stop_loss", True),
    ],
)
def test_what_may_be_edited_in_each_state(state: str, field: str, editable: bool) -> None:
    if editable:
        check_editable(state, {field})
    else:
        with pytest.raises(InputError) as caught:
            check_editable(state, {field})
        assert caught.value.field == field
