"""`POST/GET/PATCH/DELETE /api/trades…`: creating, listing, reading, editing and unloading trades."""

from __future__ import annotations

from typing import Any

import pytest

from tests.trades.conftest import Api, Clock, load_body


def _error(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.get_json()["error"]
    return error


# --- create ---------------------------------------------------------------------------------------


def test_loading_a_trade_answers_201_with_the_trade_and_its_load_update(api: Api) -> None:
    response = api.post("/api/trades", load_body(setup_type="Breakout", notes="VWAP reclaim"))
    assert response.status_code == 201
    body = response.get_json()
    assert body["trade"]["state"] == "loaded"
    assert body["trade"]["contract"] == {
        "symbol": "O:SPY251219C00650000",
        "strike": "650.00",
        "expiry": "2025-12-19",
        "type": "call",
    }
    assert (body["trade"]["setup_type"], body["trade"]["notes"]) == ("Breakout", "VWAP reclaim")
    assert body["update"]["type"] == "load"
    assert body["alert"] is None


def test_the_trade_type_comes_from_days_to_expiry(api: Api) -> None:
    assert api.load()["trade_type"] == "Day"  # 14 DTE


def test_an_admin_may_set_the_trade_type(api: Api) -> None:
    assert api.load(trade_type="Swing")["trade_type"] == "Swing"


def test_target_and_stop_default_from_the_premium_by_dte(api: Api) -> None:
    trade = api.load()
    assert (trade["target_price"], trade["stop_loss"]) == ("2.40", "0.36")  # 14 DTE: ×2 / ×0.3


def test_given_target_and_stop_are_kept(api: Api) -> None:
    trade = api.load(target_price="2.00", stop_loss="0.80")
    assert (trade["target_price"], trade["stop_loss"]) == ("2.00", "0.80")


def test_creating_with_enter_goes_straight_to_entered(api: Api) -> None:
    trade = api.enter(quantity=3)
    assert (trade["state"], trade["entry_price"], trade["quantity"]) == ("entered", "1.20", 3)
    assert trade["loaded_at"] is None and trade["entered_at"] is not None


def test_confluence_greeks_and_underlying_levels_are_saved(api: Api) -> None:
    trade = api.load(
        confluence={"score": 85, "factors": {"trend": True, "volume": "high"}},
        greeks={"delta": 0.45, "iv": 0.22},
        target_underlying="655.5",
        stop_underlying=645,
    )
    got = api.get(f"/api/trades/{trade['id']}").get_json()["trade"]
    assert got["confluence"] == {"score": 85, "factors": {"trend": True, "volume": "high"}}
    assert got["greeks"]["delta"] == 0.45
    assert (got["target_underlying"], got["stop_underlying"]) == ("655.50", "645.00")


def test_an_spx_weekly_is_an_option_on_spx(api: Api) -> None:
    contract = {"symbol": "O:SPXW251219P06500000", "strike": "6500", "expiry": "2025-12-19", "type": "put"}
    trade = api.load(ticker="spx", contract=contract)
    assert (trade["ticker"], trade["underlying"], trade["contract"]["type"]) == ("SPX", "SPXW", "put")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"ticker": ""}, "ticker"),
        ({"ticker": "QQQ"}, "contract.symbol"),
        ({"ticker": "not a ticker!"}, "ticker"),
        (
            {"contract": {"symbol": "SPY-C-650", "strike": 650, "expiry": "2025-12-19", "type": "call"}},
            "contract.symbol",
        ),
        (
            {"contract": {"symbol": "O:SPY251219C00650000", "strike": 651, "expiry": "2025-12-19", "type": "call"}},
            "contract.strike",
        ),
        (
            {"contract": {"symbol": "O:SPY251219C00650000", "strike": 650, "expiry": "2025-12-20", "type": "call"}},
            "contract.expiry",
        ),
        (
            {"contract": {"symbol": "O:SPY251219C00650000", "strike": 650, "expiry": "2025-12-19", "type": "put"}},
            "contract.type",
        ),
        (
            {"contract": {"symbol": "O:SPY251219C00650000", "strike": 650, "expiry": "2025-12-19", "type": "straddle"}},
            "contract.type",
        ),
        (
            {"contract": {"symbol": "O:SPY251219C00650000", "strike": 650, "expiry": "soon", "type": "call"}},
            "contract.expiry",
        ),
        ({"contract": "SPY-C-650"}, "contract.symbol"),
        ({"contract": "O:QQQ251219C00650000"}, "contract.symbol"),
        ({"contract": {"symbol": "O:SPY251219C00650000", "strike": 650, "type": "put"}}, "contract.type"),
        ({"action": "exit"}, "action"),
        ({"current_price": "0"}, "current_price"),
        ({"current_price": "-1.20"}, "current_price"),
        ({"current_price": "1.23456"}, "current_price"),
        ({"current_price": "abc"}, "current_price"),
        ({"entry_price": 0}, "entry_price"),
        ({"target_price": -2}, "target_price"),
        ({"stop_loss": 0}, "stop_loss"),
        ({"target_underlying": 0}, "target_underlying"),
        ({"stop_underlying": "x"}, "stop_underlying"),
        ({"quantity": 0}, "quantity"),
        ({"quantity": 1.5}, "quantity"),
        ({"trade_type": "Weekly"}, "trade_type"),
        ({"setup_type": ""}, "setup_type"),
        ({"notes": "n" * 2001}, "notes"),
        ({"confluence": {"score": 101}}, "confluence.score"),
        ({"greeks": {"delta": 2}}, "greeks.delta"),
        ({"alert": {"preset": "loud"}}, "alert.preset"),
        ({"alert": {"channel_ids": ["not-a-uuid"]}}, "alert.channel_ids[0]"),
        ({"alert": {"prices": {"stop": 0}}}, "alert.prices.stop"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_each_bad_field_is_a_422_naming_it(api: Api, change: dict[str, Any], field: str) -> None:
    response = api.post("/api/trades", load_body(**change))
    assert response.status_code == 422, response.get_json()
    assert _error(response)["field"].startswith(field)
    assert api.get("/api/trades").get_json()["trades"] == []


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"notes": "gap\u0000fill"}, "notes"),
        ({"confluence": {"score": 50, "factors": {"vwap\u0000": True}}}, "confluence.factors"),
        ({"confluence": {"score": 50, "factors": {"tape": "\u0000"}}}, "confluence.factors.tape"),
    ],
)
def test_text_with_a_nul_character_is_a_422_naming_its_field(api: Api, change: dict[str, Any], field: str) -> None:
    # Postgres text and jsonb cannot hold U+0000: it must be refused, not fail in the database.
    response = api.post("/api/trades", load_body(**change))
    assert (response.status_code, _error(response)["field"]) == (422, field)
    assert api.get("/api/trades").get_json()["trades"] == []


def test_a_missing_field_is_named(api: Api) -> None:
    body = load_body()
    del body["contract"]
    response = api.post("/api/trades", body)
    assert (response.status_code, _error(response)["field"]) == (422, "contract")


def test_entering_an_expired_contract_is_refused(api: Api, clock: Clock) -> None:
    clock.advance(30 * 86400)
    response = api.post("/api/trades", load_body(action="enter", entry_price="1.00"))
    assert (response.status_code, _error(response)["field"]) == (422, "contract.expiry")


def test_enter_without_an_entry_price_asks_for_it(api: Api) -> None:
    response = api.post("/api/trades", load_body(action="enter", current_price=None))
    assert (response.status_code, _error(response)["field"]) == (422, "entry_price")


def test_a_body_that_is_not_json_is_refused(api: Api) -> None:
    response = api.client.post(
        "/api/trades", data="{", headers={**api.admin.headers, "Content-Type": "application/json"}
    )
    assert response.status_code == 400


def test_no_token_is_401(api: Api) -> None:
    assert api.client.post("/api/trades", json=load_body()).status_code == 401
    assert api.client.get("/api/trades").status_code == 401


# --- list and read -------------------------------------------------------------------------------


def test_trades_list_newest_first_in_pages(api: Api, clock: Clock) -> None:
    ids = []
    for _ in range(5):
        ids.append(api.load()["id"])
        clock.advance()
    first = api.get("/api/trades?limit=2").get_json()
    second = api.get(f"/api/trades?limit=2&cursor={first['next_cursor']}").get_json()
    third = api.get(f"/api/trades?limit=2&cursor={second['next_cursor']}").get_json()
    listed = [t["id"] for page in (first, second, third) for t in page["trades"]]
    assert listed == ids[::-1]
    assert third["next_cursor"] is None


def test_trades_list_filters_by_state(api: Api, clock: Clock) -> None:
    loaded = api.load()["id"]
    entered = api.enter()["id"]
    assert [t["id"] for t in api.get("/api/trades?state=loaded").get_json()["trades"]] == [loaded]
    assert [t["id"] for t in api.get("/api/trades?state=entered").get_json()["trades"]] == [entered]


@pytest.mark.parametrize(
    ("query", "field"),
    [("state=open", "state"), ("limit=0", "limit"), ("limit=101", "limit"), ("cursor=%21%21", "cursor")],
)
def test_a_bad_query_is_a_422_naming_it(api: Api, query: str, field: str) -> None:
    response = api.get(f"/api/trades?{query}")
    assert (response.status_code, _error(response)["field"]) == (422, field)


def test_a_trade_reads_back_with_its_updates_and_alerts(api: Api) -> None:
    trade = api.enter()
    api.act(trade["id"], "update", price="1.50")
    body = api.get(f"/api/trades/{trade['id']}").get_json()
    assert body["trade"]["current_price"] == "1.50"
    assert [u["type"] for u in body["updates"]] == ["enter", "update"]
    assert body["alerts"] == []


def test_an_unknown_trade_is_404(api: Api) -> None:
    assert api.get("/api/trades/00000000-0000-0000-0000-000000000000").status_code == 404
    assert api.get("/api/trades/not-a-uuid").status_code == 404


def test_the_pnl_summary_shows_every_figure_after_costs(api: Api) -> None:
    # 1 at 1.20 sold at 1.80: $60 gross; fees 2 × 0.65; slippage 0.60 + 0.90; net $57.20 on $120 (47.67 %).
    trade = api.enter()
    after = api.act(trade["id"], "exit", price="1.80").get_json()["trade"]
    assert after["pnl"] == {
        "mark": "1.80", "open_quantity": "0.00", "average_cost": None, "cost_basis": "120.00",
        "realized": "60.00", "unrealized": "0.00", "gross": "60.00", "fees": "1.30", "slippage": "1.50",
        "net": "57.20", "position_percent": "50.00", "net_percent": "47.67", "trimmed_percent": "100.00",
        "result": "win",
    }


def test_a_loaded_trade_has_a_mark_and_no_figures_yet(api: Api) -> None:
    pnl = api.load()["pnl"]
    assert (pnl["mark"], pnl["gross"], pnl["cost_basis"], pnl["result"]) == ("1.20", None, None, None)


# --- edit ----------------------------------------------------------------------------------------


def test_a_loaded_trades_contract_may_change(api: Api) -> None:
    trade = api.load()
    contract = {"symbol": "O:SPY260320C00660000", "strike": 660, "expiry": "2026-03-20", "type": "call"}
    response = api.patch(f"/api/trades/{trade['id']}", {"contract": contract})
    assert response.status_code == 200
    edited = response.get_json()["trade"]
    assert (edited["contract"]["symbol"], edited["trade_type"], edited["version"]) == (
        "O:SPY260320C00660000",
        "LEAP",
        1,
    )


def test_an_entered_trades_contract_may_not_change(api: Api) -> None:
    trade = api.enter()
    response = api.patch(f"/api/trades/{trade['id']}", {"contract": {**load_body()["contract"], "strike": 650}})
    assert (response.status_code, _error(response)["field"]) == (409, "contract")


def test_the_entry_never_changes_after_exit(api: Api) -> None:
    trade = api.enter()
    api.act(trade["id"], "exit", price="2.00")
    response = api.patch(f"/api/trades/{trade['id']}", {"entry_price": "1.00"})
    assert (response.status_code, _error(response)["field"]) == (409, "entry_price")


def test_notes_stay_editable_after_exit(api: Api) -> None:
    trade = api.enter()
    api.act(trade["id"], "exit", price="2.00")
    response = api.patch(f"/api/trades/{trade['id']}", {"notes": "textbook"})
    assert response.get_json()["trade"]["notes"] == "textbook"


def test_an_optional_field_can_be_cleared(api: Api) -> None:
    trade = api.load(notes="x")
    assert api.patch(f"/api/trades/{trade['id']}", {"notes": None}).get_json()["trade"]["notes"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "body"),
        ({"quantity": None}, "quantity"),
        ({"stop_loss": 0}, "stop_loss"),
        ({"state": "exited"}, "state"),
        ({"ticker": "QQQ"}, "contract.symbol"),
        ({"channel_ids": ["00000000-0000-0000-0000-000000000001"]}, "channel_ids[0]"),
    ],
)
def test_a_bad_edit_is_a_422_naming_the_field(api: Api, body: dict[str, Any], field: str) -> None:
    trade = api.load()
    response = api.patch(f"/api/trades/{trade['id']}", body)
    assert (response.status_code, _error(response)["field"]) == (422, field)
    assert api.get(f"/api/trades/{trade['id']}").get_json()["trade"]["version"] == 0


def test_channels_can_be_linked_to_a_trade(api: Api, add_channel: Any) -> None:
    channel = add_channel(api.admin)
    trade = api.load()
    response = api.patch(f"/api/trades/{trade['id']}", {"channel_ids": [str(channel)]})
    assert response.get_json()["trade"]["channel_ids"] == [str(channel)]


# --- unload --------------------------------------------------------------------------------------


def test_unloading_a_loaded_trade_deletes_it(api: Api) -> None:
    trade = api.load()
    assert api.delete(f"/api/trades/{trade['id']}").status_code == 204
    assert api.get(f"/api/trades/{trade['id']}").status_code == 404


def test_an_entered_trade_cannot_be_unloaded(api: Api) -> None:
    trade = api.enter()
    response = api.delete(f"/api/trades/{trade['id']}")
    assert response.status_code == 409
    assert _error(response)["trade"]["state"] == "entered"
    assert "cannot unload a trade that is entered" in _error(response)["message"]


def test_an_adjusted_contract_with_a_digit_in_its_root_loads(api: Api) -> None:
    contract = {"symbol": "O:SPY1251219C00650000", "strike": 650, "expiry": "2025-12-19", "type": "call"}
    trade = api.load(contract=contract)
    assert (trade["ticker"], trade["underlying"], trade["contract"]["symbol"]) == ("SPY", "SPY1", contract["symbol"])


def test_correcting_a_fresh_entry_reprices_its_fill(api: Api) -> None:
    trade = api.enter(quantity=2)
    edited = api.patch(f"/api/trades/{trade['id']}", {"entry_price": "1.10"}).get_json()["trade"]
    fills = api.get(f"/api/trades/{trade['id']}").get_json()["fills"]
    # 2 at 1.10: fee 1.30, slippage 0.5 % × 1.10 × 200 = 1.10; cost $220.
    assert [(f["price"], f["contracts"], f["fee"], f["slippage"]) for f in fills] == [("1.10", "2.00", "1.30", "1.10")]
    assert (edited["entry_price"], edited["pnl"]["cost_basis"]) == ("1.10", "220.00")


def test_the_entry_cannot_be_corrected_once_a_trim_priced_from_it(api: Api) -> None:
    trade = api.enter(quantity=2)
    api.act(trade["id"], "trim", quantity=1, price="1.50")
    response = api.patch(f"/api/trades/{trade['id']}", {"entry_price": "1.10"})
    assert (response.status_code, _error(response)["code"], _error(response)["field"]) == (
        409, "not_editable", "entry_price",
    )


def test_correcting_the_exit_price_reprices_the_exit_fill(api: Api) -> None:
    trade = api.enter(quantity=2)
    api.act(trade["id"], "exit", price="1.50")
    edited = api.patch(f"/api/trades/{trade['id']}", {"exit_price": "1.80"}).get_json()["trade"]
    # 2 × (1.80 − 1.20) × 100 = $120.
    assert (edited["exit_price"], edited["pnl"]["gross"]) == ("1.80", "120.00")


def test_a_contract_symbol_that_only_case_folding_makes_valid_is_a_422(api: Api) -> None:
    from tests.trades.conftest import SPY_CONTRACT, load_body

    body = load_body(contract={**SPY_CONTRACT, "symbol": "O:ſPY251219C00650000"})
    response = api.post("/api/trades", body)
    assert (response.status_code, response.get_json()["error"]["field"]) == (422, "contract.symbol")


def test_a_malformed_trade_id_is_a_json_404_naming_it(api: Api) -> None:
    response = api.get("/api/trades/not-a-uuid")
    assert response.status_code == 404
    assert response.get_json()["error"]["field"] == "trade_id"
    assert response.get_json()["error"]["message"].startswith("trade_id: ")
