"""A whole trade through real HTTP: load → enter → trim 50 % → update_sl → exit, each with an alert,
previewed first, checked against what the fake Discord received."""

from __future__ import annotations

import json
from typing import Any

import requests

from tests.conftest import LiveServer
from tests.fakes.discord import FakeDiscord
from tests.trades.conftest import Api, Clock, load_body

TIMEOUT_S = 10


def test_a_whole_lifecycle_sends_exactly_what_was_previewed_and_stored(
    api: Api, clock: Clock, api_server: LiveServer, add_channel: Any, fake_discord: FakeDiscord
) -> None:
    channel = add_channel(api.admin, name="trades")
    hook = add_channel.hooks[channel]
    session = requests.Session()
    session.headers.update(api.admin.headers)

    def call(method: str, path: str, body: Any = None) -> Any:
        response = session.request(method, f"{api_server.url}{path}", json=body, timeout=TIMEOUT_S)
        assert response.status_code in (200, 201), response.text
        return response

    alert = {"send": True, "channel_ids": [str(channel)], "preset": "full"}
    new_trade = load_body(setup_type="Breakout", target_underlying="655", stop_underlying="645")
    del new_trade["action"]
    preview = call("post", "/api/alerts/preview", {"trade": new_trade, "action": "load", "alert": alert}).json()
    created = call("post", "/api/trades", {**new_trade, "action": "load", "alert": alert}).json()
    trade_id = created["trade"]["id"]
    previews = [preview]
    steps: list[tuple[str, dict[str, Any]]] = [
        ("enter", {"price": "1.25", "alert": {**alert, "comment": "In at 1.25"}}),
        ("trim", {"trim_percent": 50, "price": "1.90", "alert": {**alert, "comment": "Half off"}}),
        ("update_sl", {"stop_loss": "1.25", "alert": {**alert, "comment": "Stop to breakeven"}}),
        ("exit", {"price": "2.30", "alert": alert}),
    ]
    for action, body in steps:
        clock.advance(60)
        previews.append(
            call("post", "/api/alerts/preview", {"trade_id": trade_id, "action": action, **body}).json()
        )
        call("post", f"/api/trades/{trade_id}/actions", {"action": action, **body})

    stored = call("get", f"/api/trades/{trade_id}").json()
    assert stored["trade"]["state"] == "exited"
    assert [u["type"] for u in stored["updates"]] == ["load", "enter", "trim", "update_sl", "exit"]
    assert stored["trade"]["pnl"]["position_percent"] == "68.00"  # half at +52 %, half at +84 %
    received = [m.payload for m in fake_discord.messages(hook.id)]
    sent_payloads = [a["payload"] for a in stored["alerts"]]
    assert received == sent_payloads
    assert [p["payload"] for p in previews] == sent_payloads
    # Byte for byte: the preview's JSON text is the text of what Discord received.
    assert [json.dumps(p["payload"]) for p in previews] == [json.dumps(m) for m in received]
    assert all(d["status"] == "sent" for a in stored["alerts"] for d in a["deliveries"])
    titles = [p["embeds"][0]["title"] for p in received]
    assert titles == [
        "📊 LOADING: SPY $650 Call · 📅 14DTE",
        "🚀 ENTERED: SPY $650 Call · 📅 14DTE",
        "📉 TRIM: SPY $650 Call · 📅 14DTE",
        "🛡️ STOP UPDATED: SPY $650 Call · 📅 14DTE",
        "🎉 EXITED: SPY $650 Call · 📅 14DTE",
    ]
    exit_fields = {f["name"]: f["value"] for f in received[-1]["embeds"][0]["fields"]}
    # 1 at 1.25; 0.5 sold at 1.90 (+$32.50), 0.5 at 2.30 (+$52.50): +$85 on $125. Fees 0.65 + 0.50 + 0.50,
    # slippage 0.63 + 0.48 + 0.58 (0.5 % of each fill, half-up): $3.34 of costs.
    assert exit_fields["P/L"] == "+68.00% (+$85.00) · net +$81.66 after $3.34 costs"
