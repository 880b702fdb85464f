"""`POST /api/alerts/preview` and `GET /api/alerts/presets`."""

from __future__ import annotations

from typing import Any

import pytest

from shared.alerts.presets import presets_document
from tests.trades.conftest import Api, load_body


def _draft() -> dict[str, Any]:
    body = load_body()
    del body["action"]
    return body


def test_presets_lists_presets_and_default_toggles(api: Api) -> None:
    response = api.get("/api/alerts/presets")
    assert response.status_code == 200
    assert response.get_json() == presets_document()


def test_preview_of_an_action_equals_the_alert_the_action_stores(api: Api, add_channel: Any) -> None:
    channel = add_channel(api.admin)
    trade = api.enter()
    body = {
        "trim_percent": 50,
        "price": "1.80",
        "alert": {"send": True, "channel_ids": [str(channel)], "comment": "Half"},
    }
    preview = api.post("/api/alerts/preview", {"trade_id": trade["id"], "action": "trim", **body}).get_json()
    acted = api.act(trade["id"], "trim", **body).get_json()
    assert preview["payload"] == acted["alert"]["payload"]
    assert preview["channel_ids"] == [str(channel)]


def test_preview_writes_nothing(api: Api) -> None:
    trade = api.enter()
    api.post("/api/alerts/preview", {"trade_id": trade["id"], "action": "exit", "price": "2"})
    stored = api.get(f"/api/trades/{trade['id']}").get_json()
    assert (stored["trade"]["state"], len(stored["updates"])) == ("entered", 1)


def test_preview_reports_the_length_against_discords_limits(api: Api) -> None:
    trade = api.enter()
    body = api.post(
        "/api/alerts/preview", {"trade_id": trade["id"], "action": "update", "alert": {"comment": "x" * 4096}}
    ).get_json()
    assert body["limits"]["within_limits"] is True
    assert body["limits"]["per_embed"][0]["description"] == {"length": 4096, "limit": 4096, "ok": True}


def test_preview_of_a_new_trade(api: Api) -> None:
    body = api.post("/api/alerts/preview", {"trade": _draft(), "action": "load", "alert": {"preset": "minimal"}})
    assert body.status_code == 200
    payload = body.get_json()["payload"]
    assert payload["embeds"][0]["title"].startswith("📊 LOADING: SPY $650 Call")
    assert api.get("/api/trades").get_json()["trades"] == []


def test_preview_shows_the_channels_the_alert_would_go_to(api: Api, add_channel: Any) -> None:
    fallback = add_channel(api.admin, is_global_default=True)
    trade = api.enter()
    body = api.post("/api/alerts/preview", {"trade_id": trade["id"], "action": "exit", "price": "2"}).get_json()
    assert body["channel_ids"] == [str(fallback)]


def test_preview_of_an_action_not_allowed_is_409(api: Api) -> None:
    trade = api.load()
    response = api.post("/api/alerts/preview", {"trade_id": trade["id"], "action": "trim", "trim_percent": 10})
    assert response.status_code == 409
    assert response.get_json()["error"]["allowed"] == ["enter", "update", "unload"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "exit"}, "body"),
        ({"action": "exit", "trade_id": "x"}, "trade_id"),
        ({"trade_id": "00000000-0000-0000-0000-000000000000"}, "action"),
        ({"trade_id": "00000000-0000-0000-0000-000000000000", "action": "unload"}, "action"),
        ({"trade": {"ticker": "SPY"}, "action": "load"}, "trade.contract"),
        ({"trade": {**load_body(), "action": "load"}, "action": "load"}, "trade.action"),
        (
            {"trade_id": "00000000-0000-0000-0000-000000000000", "action": "exit", "alert": {"preset": "x"}},
            "alert.preset",
        ),
    ],
)
def test_a_bad_preview_field_is_a_422_naming_it(api: Api, body: dict[str, Any], field: str) -> None:
    response = api.post("/api/alerts/preview", body)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["error"]["field"].startswith(field)


def test_preview_of_a_new_trade_with_a_bad_contract_names_it(api: Api) -> None:
    draft = _draft()
    draft["contract"]["strike"] = 651
    response = api.post("/api/alerts/preview", {"trade": draft, "action": "load"})
    assert (response.status_code, response.get_json()["error"]["field"]) == (422, "trade.contract.strike")


def test_preview_and_presets_need_a_token(api: Api) -> None:
    assert api.client.get("/api/alerts/presets").status_code == 401
    assert api.client.post("/api/alerts/preview", json={}).status_code == 401
