"""`POST /api/trades/<id>/actions`: each action through HTTP, the refused ones, and where alerts go."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from tests.fakes.discord import FakeDiscord
from tests.trades.conftest import Api, load_body

ALL_ACTIONS = ["enter", "trim", "add", "update_sl", "trail_stop", "update", "exit", "share_exit"]
ALLOWED = {
    "loaded": {"enter", "update"},
    "entered": {"trim", "add", "update_sl", "trail_stop", "update", "exit"},
    "exited": {"share_exit"},
}
ENOUGH: dict[str, dict[str, Any]] = {
    "enter": {"price": "1.20"},
    "trim": {"trim_percent": 25},
    "add": {"quantity": 1},
    "update_sl": {"stop_loss": "0.90"},
}


def _error(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.get_json()["error"]
    return error


def _trade_in(api: Api, state: str) -> dict[str, Any]:
    if state == "loaded":
        return api.load()
    trade = api.enter()
    if state == "exited":
        api.act(trade["id"], "exit", price="1.50")
    return trade


@pytest.mark.parametrize("state", ["loaded", "entered", "exited"])
@pytest.mark.parametrize("action", ALL_ACTIONS)
def test_every_action_from_every_stored_state(api: Api, state: str, action: str) -> None:
    trade = _trade_in(api, state)
    before = api.get(f"/api/trades/{trade['id']}").get_json()
    response = api.act(trade["id"], action, **ENOUGH.get(action, {}))
    if action in ALLOWED[state]:
        assert response.status_code == 200, response.get_json()
        assert response.get_json()["update"]["type"] == action
    else:
        assert response.status_code == 409
        error = _error(response)
        assert (error["state"], error["action"], error["trade"]["state"]) == (state, action, state)
        assert f"cannot {action} a trade that is {state}" in error["message"]
        assert api.get(f"/api/trades/{trade['id']}").get_json() == before


def test_a_trim_reports_the_realized_dollars_and_what_is_open(api: Api) -> None:
    # 2 at 1.20; 1 sold at 1.80: realized 0.60 × 100 = $60, the other marked at 1.80 another $60.
    trade = api.enter(quantity=2)
    body = api.act(trade["id"], "trim", trim_percent=50, price="1.80").get_json()
    assert body["update"]["trim_percent"] == "50.00" and body["update"]["pnl_percent"] == "50.00"
    pnl = body["trade"]["pnl"]
    assert (pnl["open_quantity"], pnl["realized"], pnl["unrealized"], pnl["gross"]) == (
        "1.00", "60.00", "60.00", "120.00",
    )
    assert (pnl["trimmed_percent"], pnl["position_percent"]) == ("50.00", "50.00")


def test_a_trim_that_would_sell_everything_is_a_422_and_changes_nothing(api: Api) -> None:
    trade = api.enter()
    response = api.act(trade["id"], "trim", trim_percent=100)
    assert (response.status_code, _error(response)["field"]) == (422, "trim_percent")
    assert api.get(f"/api/trades/{trade['id']}").get_json()["trade"]["version"] == 0


QQQ_PUT = {"symbol": "O:QQQ251219P00600000", "strike": 600, "expiry": "2025-12-19", "type": "put"}


def test_the_adds_case_adds_up_by_hand(api: Api, add_channel: Any, fake_discord: FakeDiscord) -> None:
    # 10 × QQQ 600P at 3.10, half trimmed at 4.00, 5 added at 3.60, exited at 4.50.
    channel = add_channel(api.admin)
    created = api.post(
        "/api/trades",
        {"ticker": "QQQ", "contract": QQQ_PUT, "action": "enter", "entry_price": "3.10", "quantity": 10},
    )
    trade_id = created.get_json()["trade"]["id"]
    api.act(trade_id, "trim", trim_percent=50, price="4.00")
    added = api.act(trade_id, "add", quantity=5, price="3.60").get_json()["trade"]
    # Right after the add, marked at 3.60: $450 realized + 10 × (3.60 − 3.35) × 100 = $700.
    assert (added["entry_price"], added["quantity"]) == ("3.10", 10)
    assert (added["pnl"]["average_cost"], added["pnl"]["open_quantity"], added["pnl"]["gross"]) == (
        "3.35", "10.00", "700.00",
    )
    exited = api.act(
        trade_id, "exit", price="4.50", alert={"send": True, "channel_ids": [str(channel)]}
    ).get_json()
    pnl = exited["trade"]["pnl"]
    # $450 + 10 × 1.15 × 100 = $1,600; fees 19.50, slippage 57.00; on $4,900 bought.
    assert {k: pnl[k] for k in ("realized", "gross", "fees", "slippage", "net", "cost_basis")} == {
        "realized": "1600.00", "gross": "1600.00", "fees": "19.50", "slippage": "57.00", "net": "1523.50",
        "cost_basis": "4900.00",
    }
    assert (pnl["position_percent"], pnl["net_percent"], pnl["trimmed_percent"], pnl["result"]) == (
        "32.65", "31.09", "100.00", "win",
    )
    fields = {f["name"]: f["value"] for f in fake_discord.messages()[0].payload["embeds"][0]["fields"]}
    assert fields["Entry"] == "$3.10"
    assert fields["P/L"] == "+32.65% (+$1,600.00) · net +$1,523.50 after $76.50 costs"
    assert fields["Sold"] == "10 contracts at $4.50 · position closed"
    fills = api.get(f"/api/trades/{trade_id}").get_json()["fills"]
    assert [(f["side"], f["contracts"], f["price"], f["fee"], f["slippage"]) for f in fills] == [
        ("buy", "10.00", "3.10", "6.50", "15.50"),
        ("sell", "5.00", "4.00", "3.25", "10.00"),
        ("buy", "5.00", "3.60", "3.25", "9.00"),
        ("sell", "10.00", "4.50", "6.50", "22.50"),
    ]


def test_a_one_contract_trade_trims_in_halves(api: Api) -> None:
    trade = api.enter(quantity=1)
    api.act(trade["id"], "trim", trim_percent=50, price="1.80")
    body = api.act(trade["id"], "trim", trim_percent=50, price="2.40").get_json()
    # 0.5 sold at +0.60 ($30), 0.25 at +1.20 ($30), 0.25 open at 2.40 ($30): $90 on $120.
    assert (body["trade"]["pnl"]["open_quantity"], body["trade"]["pnl"]["gross"]) == ("0.25", "90.00")
    assert body["trade"]["pnl"]["position_percent"] == "75.00"


def test_entering_needs_a_price_and_never_takes_the_load_price(api: Api) -> None:
    trade = api.load()
    response = api.act(trade["id"], "enter")
    assert (response.status_code, _error(response)["field"]) == (422, "price")
    assert api.get(f"/api/trades/{trade['id']}").get_json()["trade"]["state"] == "loaded"


def test_creating_an_entered_trade_needs_its_entry_price(api: Api) -> None:
    response = api.post("/api/trades", load_body(action="enter"))
    assert (response.status_code, _error(response)["field"]) == (422, "entry_price")


def test_a_target_below_the_premium_is_a_422_naming_it(api: Api) -> None:
    response = api.post("/api/trades", load_body(target_price="1.00"))
    assert (response.status_code, _error(response)["field"]) == (422, "target_price")


def test_a_stop_above_the_mark_is_a_422_naming_it(api: Api) -> None:
    trade = api.enter()
    response = api.act(trade["id"], "update_sl", stop_loss="1.30")
    assert (response.status_code, _error(response)["field"]) == (422, "stop_loss")


def test_a_premium_whose_default_target_cannot_be_stored_is_a_422(api: Api) -> None:
    response = api.post("/api/trades", load_body(current_price="50000000"))
    assert (response.status_code, _error(response)["field"]) == (422, "target_price")


def test_after_the_close_on_expiration_day_nothing_more_is_bought(api: Api, clock: Any) -> None:
    trade = api.enter(quantity=2)
    loaded = api.load()
    # 19 December 2025 at 16:00 New York is 21:00 UTC.
    clock.at = datetime(2025, 12, 19, 21, 0, tzinfo=UTC)
    assert _error(api.act(trade["id"], "add", quantity=1, price="0.10"))["field"] == "contract.expiry"
    assert _error(api.act(loaded["id"], "enter", price="0.10"))["field"] == "contract.expiry"
    assert _error(api.post("/api/trades", load_body()))["field"] == "contract.expiry"
    shown = api.get(f"/api/trades/{trade['id']}").get_json()["trade"]
    assert (shown["dte"], shown["expired"]) == (None, True)
    # Settling at its value still closes it.
    assert api.act(trade["id"], "exit", price="0").get_json()["trade"]["state"] == "exited"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "sell"}, "action"),
        ({"action": "trim", "trim_percent": 0}, "trim_percent"),
        ({"action": "trim", "trim_percent": 100.5}, "trim_percent"),
        ({"action": "trim"}, "trim_percent"),
        ({"action": "exit", "price": -1}, "price"),
        ({"action": "update_sl"}, "stop_loss"),
        ({"action": "update_sl", "stop_loss": 0}, "stop_loss"),
        ({"action": "add", "quantity": 0}, "quantity"),
        ({"action": "update", "comment": "c" * 2001}, "comment"),
        ({"action": "update", "alert": {"fields": {"gamma": True}}}, "alert.fields"),
        ({"action": "update", "alert": {"send": "maybe"}}, "alert.send"),
        ({"action": "update", "alert": {"comment": "c" * 4097}}, "alert.comment"),
        ({"action": "update", "target": 2}, "target"),
        ({}, "action"),
    ],
)
def test_each_bad_action_field_is_a_422_naming_it(api: Api, body: dict[str, Any], field: str) -> None:
    trade = api.enter()
    response = api.post(f"/api/trades/{trade['id']}/actions", body)
    assert response.status_code == 422, response.get_json()
    assert _error(response)["field"].startswith(field)
    assert api.get(f"/api/trades/{trade['id']}").get_json()["trade"]["version"] == 0


def test_exit_at_zero_is_allowed_for_an_option_that_expired_worthless(api: Api) -> None:
    trade = api.enter()
    body = api.act(trade["id"], "exit", price=0).get_json()
    assert (body["trade"]["exit_price"], body["update"]["pnl_percent"]) == ("0.00", "-100.00")


@pytest.mark.parametrize("body", [{"action": "trim", "trim_percent": 50}, {"action": "update"}, {"action": "exit"}])
def test_a_price_whose_move_cannot_be_recorded_is_a_422_and_changes_nothing(
    api: Api, body: dict[str, Any]
) -> None:
    trade = api.post("/api/trades", load_body(action="enter", entry_price="0.0001")).get_json()["trade"]
    response = api.post(f"/api/trades/{trade['id']}/actions", {**body, "price": "99999999.9999"})
    assert (response.status_code, _error(response)["field"]) == (422, "price")
    assert api.get(f"/api/trades/{trade['id']}").get_json()["trade"]["version"] == 0


def test_edited_prices_in_the_alert_block_are_saved_with_the_action(api: Api) -> None:
    trade = api.load()
    body = api.act(
        trade["id"], "enter", alert={"prices": {"entry": "1.10", "target": "2.50", "stop": "0.70"}}
    ).get_json()
    assert (body["trade"]["entry_price"], body["trade"]["target_price"], body["trade"]["stop_loss"]) == (
        "1.10",
        "2.50",
        "0.70",
    )


def test_an_edited_entry_after_exit_is_refused_naming_the_composer_field(api: Api) -> None:
    trade = _trade_in(api, "exited")
    response = api.act(trade["id"], "share_exit", alert={"prices": {"entry": "1.00"}})
    assert (response.status_code, _error(response)["field"]) == (422, "alert.prices.entry")


# --- where alerts go ------------------------------------------------------------------------------


def test_an_alert_to_chosen_channels_is_stored_and_delivered(
    api: Api, add_channel: Any, fake_discord: FakeDiscord
) -> None:
    channel = add_channel(api.admin)
    trade = api.enter()
    body = api.act(trade["id"], "update", price="1.40", alert={"send": True, "channel_ids": [str(channel)]}).get_json()
    assert body["alert"]["channel_ids"] == [str(channel)]
    assert [d["status"] for d in body["alert"]["deliveries"]] == ["sent"]
    assert [m.payload for m in fake_discord.messages()] == [body["alert"]["payload"]]


def test_alerts_go_to_the_trades_linked_channels_first(api: Api, add_channel: Any) -> None:
    linked = add_channel(api.admin)
    add_channel(api.admin, default_for=["update"], is_global_default=True)
    trade = api.enter()
    api.patch(f"/api/trades/{trade['id']}", {"channel_ids": [str(linked)]})
    body = api.act(trade["id"], "update", alert={"send": True}).get_json()
    assert body["alert"]["channel_ids"] == [str(linked)]


def test_then_to_the_channels_marked_default_for_the_action(api: Api, add_channel: Any) -> None:
    add_channel(api.admin, default_for=["exit"])
    for_updates = add_channel(api.admin, default_for=["update"])
    add_channel(api.admin, is_global_default=True)
    trade = api.enter()
    body = api.act(trade["id"], "trim", trim_percent=10, alert={"send": True}).get_json()
    assert body["alert"]["channel_ids"] == [str(for_updates)]


def test_then_to_the_global_default(api: Api, add_channel: Any) -> None:
    fallback = add_channel(api.admin, is_global_default=True)
    trade = api.enter()
    assert api.act(trade["id"], "exit", price="2", alert={"send": True}).get_json()["alert"]["channel_ids"] == [
        str(fallback)
    ]


def test_the_first_channels_sent_to_become_the_trades_linked_channels(api: Api, add_channel: Any) -> None:
    channel = add_channel(api.admin)
    response = api.post(
        "/api/trades",
        {**_load_body(), "alert": {"send": True, "channel_ids": [str(channel)]}},
    )
    assert response.get_json()["trade"]["channel_ids"] == [str(channel)]


def test_sending_with_no_channel_at_all_is_a_422_and_nothing_is_written(api: Api) -> None:
    trade = api.enter()
    response = api.act(trade["id"], "exit", price="2", alert={"send": True})
    assert (response.status_code, _error(response)["field"]) == (422, "alert.channel_ids")
    assert api.get(f"/api/trades/{trade['id']}").get_json()["trade"]["state"] == "entered"


def test_another_admins_channel_is_refused_and_nothing_is_written(
    api: Api, other_api: Api, add_channel: Any, fake_discord: FakeDiscord
) -> None:
    theirs = add_channel(other_api.admin)
    trade = api.enter()
    response = api.act(trade["id"], "exit", price="2", alert={"send": True, "channel_ids": [str(theirs)]})
    assert (response.status_code, _error(response)["field"]) == (422, "alert.channel_ids")
    after = api.get(f"/api/trades/{trade['id']}").get_json()
    assert (after["trade"]["state"], after["alerts"]) == ("entered", [])
    assert fake_discord.messages() == []


def test_an_inactive_channel_is_refused(api: Api, add_channel: Any) -> None:
    inactive = add_channel(api.admin, active=False)
    trade = api.enter()
    response = api.act(trade["id"], "update", alert={"send": True, "channel_ids": [str(inactive)]})
    assert (response.status_code, _error(response)["code"]) == (422, "channel_inactive")


def test_send_false_saves_the_action_without_an_alert(api: Api, add_channel: Any, fake_discord: FakeDiscord) -> None:
    add_channel(api.admin, is_global_default=True)
    trade = api.enter()
    body = api.act(trade["id"], "update", alert={"send": False, "comment": "quiet"}).get_json()
    assert body["alert"] is None
    assert fake_discord.messages() == []


def _load_body() -> dict[str, Any]:
    from tests.trades.conftest import load_body

    return load_body()


def test_the_largest_position_the_api_accepts_is_recorded_not_a_500(api: Api) -> None:
    # 100,000 contracts at $49,999,999 with a quote spanning the largest premium: $499,999,995,000,000 slippage.
    created = api.post("/api/trades", load_body(
        action="enter", entry_price="49999999", quantity=100000, bid="0", ask="99999999",
        target_price="99999999", stop_loss="1",
    ))
    assert created.status_code == 201, created.get_json()
    trade_id = created.get_json()["trade"]["id"]
    exited = api.act(trade_id, "exit", price="0.0001", bid="0", ask="0.0002")
    assert exited.status_code == 200, exited.get_json()
    # 100,000 × (0.0001 − 49,999,999) × 100.
    assert exited.get_json()["trade"]["pnl"]["gross"] == "-499999989999000.00"
