"""The trade state machine: every action from every state, and what each action changes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest

from shared.trades.lifecycle import (
    DELETED,
    STATES,
    TRANSITIONS,
    Action,
    InputError,
    TransitionError,
    allowed_actions,
    apply_action,
    check_editable,
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


# Inputs that make each action possible, so only the transition decides.
ENOUGH: dict[Action, ActionInputs] = {
    Action.TRIM: ActionInputs(trim_percent=D(50)),
    Action.UPDATE_SL: ActionInputs(stop_loss=D("0.90")),
}


def test_the_transition_table_is_exactly_the_lifecycle() -> None:
    assert dict(TRANSITIONS) == EXPECTED


@pytest.mark.parametrize(("state", "action"), EVERY_PAIR)
def test_every_action_from_every_state(state: str, action: Action) -> None:
    expected = EXPECTED.get((state, action))
    if expected is None:
        with pytest.raises(TransitionError) as caught:
            apply_action(trade(state), action, ENOUGH.get(action, inputs()), NOW)
        assert f"cannot {action.value} a trade that is {state}" in str(caught.value)
        return
    step = apply_action(trade(state), action, ENOUGH.get(action, inputs()), NOW)
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
    step = apply_action(trade("watching"), Action.LOAD, inputs(price=D("1.35")), NOW)
    assert (step.trade.loaded_at, step.trade.current_price) == (NOW, D("1.35"))
    assert step.update is not None and step.update.price == D("1.35")


def test_loading_an_expired_contract_names_the_expiry() -> None:
    with pytest.raises(InputError) as caught:
        apply_action(trade("watching", expiry=date(2025, 11, 28)), Action.LOAD, inputs(), NOW)
    assert caught.value.field == "contract.expiry"


def test_enter_sets_entry_and_current_from_the_price() -> None:
    step = apply_action(trade("loaded"), Action.ENTER, inputs(price=D("1.25"), quantity=3), NOW)
    assert (step.trade.entry_price, step.trade.current_price, step.trade.quantity) == (D("1.25"), D("1.25"), 3)
    assert step.trade.entered_at == NOW
    assert step.update is not None and step.update.pnl_percent == D("0.00")


def test_enter_without_a_price_uses_the_current_premium() -> None:
    step = apply_action(trade("loaded"), Action.ENTER, inputs(), NOW)
    assert step.trade.entry_price == D("1.20")


def test_enter_with_no_premium_at_all_asks_for_the_price() -> None:
    with pytest.raises(InputError) as caught:
        apply_action(trade("loaded", current_price=None), Action.ENTER, inputs(), NOW)
    assert caught.value.field == "price"


def test_enter_at_zero_is_refused() -> None:
    with pytest.raises(InputError, match="price must be greater than 0"):
        apply_action(trade("loaded"), Action.ENTER, inputs(price=D(0)), NOW)


def test_entering_straight_from_watching_never_was_loaded() -> None:
    step = apply_action(trade("watching"), Action.ENTER, inputs(price=D("1.10")), NOW)
    assert step.trade.loaded_at is None and step.trade.state == "entered"


def test_trim_records_the_percent_the_move_and_the_realized_share() -> None:
    step = apply_action(trade(), Action.TRIM, inputs(trim_percent=D(50), price=D("1.80")), NOW)
    assert step.trade.trimmed_percent == D(50)
    assert step.trade.realized_percent == D("25.00")
    assert step.update is not None
    assert (step.update.trim_percent, step.update.pnl_percent, step.update.price) == (D(50), D("50.00"), D("1.80"))


def test_trims_accumulate_up_to_the_whole_position() -> None:
    first = apply_action(trade(), Action.TRIM, inputs(trim_percent=D(60)), NOW).trade
    second = apply_action(first, Action.TRIM, inputs(trim_percent=D(40)), NOW).trade
    assert second.trimmed_percent == D(100)


def test_trimming_more_than_remains_says_how_much_remains() -> None:
    first = apply_action(trade(), Action.TRIM, inputs(trim_percent=D(75)), NOW).trade
    with pytest.raises(InputError, match="only 25% of the position remains") as caught:
        apply_action(first, Action.TRIM, inputs(trim_percent=D(30)), NOW)
    assert caught.value.field == "trim_percent"


def test_trim_needs_a_percent() -> None:
    with pytest.raises(InputError) as caught:
        apply_action(trade(), Action.TRIM, inputs(), NOW)
    assert caught.value.field == "trim_percent"


def test_add_with_contracts_averages_the_entry() -> None:
    step = apply_action(trade(quantity=1), Action.ADD, inputs(price=D("0.80"), quantity=1), NOW)
    assert (step.trade.quantity, step.trade.entry_price, step.trade.current_price) == (2, D("1.0000"), D("0.80"))


def test_add_without_contracts_only_records_the_price() -> None:
    step = apply_action(trade(), Action.ADD, inputs(price=D("1.50")), NOW)
    assert (step.trade.quantity, step.trade.entry_price) == (1, D("1.20"))
    assert step.update is not None and step.update.pnl_percent == D("25.00")


def test_update_sl_sets_a_fixed_stop() -> None:
    step = apply_action(trade(stop_mode="trailing"), Action.UPDATE_SL, inputs(stop_loss=D("1.00")), NOW)
    assert (step.trade.stop_loss, step.trade.stop_mode) == (D("1.00"), "fixed")
    assert step.update is not None and step.update.price == D("1.00")


def test_update_sl_needs_the_new_stop() -> None:
    with pytest.raises(InputError) as caught:
        apply_action(trade(), Action.UPDATE_SL, inputs(), NOW)
    assert caught.value.field == "stop_loss"


def test_trail_stop_switches_to_trailing_and_keeps_the_stop_when_none_is_given() -> None:
    step = apply_action(trade(), Action.TRAIL_STOP, inputs(), NOW)
    assert (step.trade.stop_mode, step.trade.stop_loss) == ("trailing", D("0.60"))


def test_update_moves_current_target_and_stop() -> None:
    step = apply_action(
        trade(), Action.UPDATE, inputs(price=D("1.50"), target_price=D("3.00"), stop_loss=D("1.00")), NOW
    )
    assert (step.trade.current_price, step.trade.target_price, step.trade.stop_loss) == (D("1.50"), D("3.00"), D("1"))
    assert step.update is not None and step.update.pnl_percent == D("25.00")


def test_an_update_before_entry_has_no_pnl() -> None:
    step = apply_action(trade("loaded"), Action.UPDATE, inputs(price=D("1.50")), NOW)
    assert step.update is not None and step.update.pnl_percent is None


def test_exit_records_the_price_the_time_and_the_move() -> None:
    step = apply_action(trade(), Action.EXIT, inputs(price=D("2.40")), NOW)
    assert (step.trade.exit_price, step.trade.exited_at, step.trade.state) == (D("2.40"), NOW, "exited")
    assert step.update is not None and step.update.pnl_percent == D("100.00")


@pytest.mark.parametrize("action", [Action.TRIM, Action.UPDATE, Action.EXIT])
def test_a_move_too_large_to_record_is_refused_naming_the_price(action: Action) -> None:
    # From a $0.0001 entry, $1,000,000 is a move of 10^12 %: more than numeric(12, 2) holds.
    cheap = trade(entry_price=D("0.0001"), current_price=D("0.0001"))
    with pytest.raises(InputError) as refused:
        apply_action(cheap, action, inputs(price=D(1_000_000), trim_percent=D(50)), NOW)
    assert refused.value.field == "price"


def test_an_option_may_exit_worthless() -> None:
    step = apply_action(trade(), Action.EXIT, inputs(price=D(0)), NOW)
    assert step.trade.exit_price == D(0)
    assert step.trade.current_price == D("1.20")
    assert step.update is not None and step.update.pnl_percent == D("-100.00")


def test_share_exit_reposts_the_result_without_changing_the_trade() -> None:
    before = trade("exited")
    step = apply_action(before, Action.SHARE_EXIT, inputs(), NOW)
    assert step.trade.model_dump(exclude={"updated_at"}) == before.model_dump(exclude={"updated_at"})
    assert step.update is not None and step.update.pnl_percent == D("50.00")


def test_the_comment_becomes_the_update_message() -> None:
    step = apply_action(trade(), Action.UPDATE, inputs(comment="holding through CPI"), NOW)
    assert step.update is not None and step.update.message == "holding through CPI"


def test_applying_an_action_leaves_the_given_trade_unchanged() -> None:
    before = trade()
    apply_action(before, Action.EXIT, inputs(price=D(2)), NOW)
    assert before.state == "entered" and before.exit_price is None


def test_default_levels_fill_only_what_is_unset() -> None:
    filled = with_default_levels(trade("watching", current_price=D("1.00"), target_price=D("5.00")), NOW)
    assert (filled.target_price, filled.stop_loss) == (D("5.00"), D("0.30"))


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
