"""Error statuses from Massive (a channel the plan is not entitled to, …) reach the clients they concern."""

import json
from typing import Any

import requests

from tests.fakes.massive import FakeMassive
from tests.relay.conftest import RelayProcess, has_status, recv_until, statuses, subscribe

X = "O:SPY251219C00650000"
Y = "O:SPY251219P00640000"
REFUSAL = f"upstream refused Q.{X}: not authorized for: Q.{X}"


def test_a_channel_massive_refuses_is_reported_to_its_holder_only_and_both_stay_connected(
    relay: RelayProcess, massive: FakeMassive
) -> None:
    massive.refused = {f"Q.{X}"}
    refused, other = relay.connect(), relay.connect()
    subscribe(other, f"Q.{Y}", expect_acks=1)
    subscribe(refused, f"Q.{X}", expect_acks=1)
    told = recv_until(refused, has_status("error", "upstream refused"))
    assert statuses(told[-1], "error") == [{"ev": "status", "status": "error", "message": REFUSAL}]
    massive.wait_for(lambda: massive.subscriptions("options") == {f"Q.{Y}"})
    massive.emit("options", [{"ev": "Q", "sym": Y, "bp": 1.5}])
    seen = recv_until(other, lambda frame: {"ev": "Q", "sym": Y, "bp": 1.5} in frame)
    assert not [event for frame in seen for event in statuses(frame, "error")], seen
    for ws in (refused, other):
        ws.send(json.dumps({"action": "ping"}))
        recv_until(ws, has_status("pong"))


def test_an_upstream_refusal_is_counted_logged_and_kept_as_last_error(
    relay: RelayProcess, massive: FakeMassive
) -> None:
    massive.refused = {f"Q.{X}"}
    ws = relay.connect()
    subscribe(ws, f"Q.{X}", expect_acks=1)
    recv_until(ws, has_status("error", "upstream refused"))
    body = relay.wait_health(lambda b: b["metrics"]["options"]["upstreamErrors"] == 1, what="upstreamErrors 1")
    options: dict[str, Any] = body["metrics"]["options"]
    assert options["lastError"] == f"error: not authorized for: Q.{X}"
    assert options["connectionState"] == "connected" and body["healthy"]
    metrics = requests.get(f"{relay.http}/metrics", timeout=5).text
    assert 'relay_upstream_errors_total{cluster="options"} 1' in metrics
    assert "[WS options] upstream error status: not authorized for" in relay.logs()


def test_an_upstream_error_naming_no_held_channel_goes_to_every_client_of_the_cluster(
    relay: RelayProcess, massive: FakeMassive
) -> None:
    a, b = relay.connect(), relay.connect()
    subscribe(a, f"Q.{X}", expect_acks=1)
    subscribe(b, f"Q.{Y}", expect_acks=1)
    massive.wait_for(lambda: massive.subscriptions("options") == {f"Q.{X}", f"Q.{Y}"})
    massive.send_raw("options", json.dumps([{"ev": "status", "status": "error", "message": "plan expired"}]))
    for ws in (a, b):
        recv_until(ws, has_status("error", "upstream error: plan expired"))


def test_a_refused_channel_is_released_not_counted_and_not_subscribed_again_after_a_reconnect(
    relay: RelayProcess, massive: FakeMassive
) -> None:
    massive.refused = {f"Q.{X}"}
    ws = relay.connect()
    subscribe(ws, f"Q.{Y}", expect_acks=1)
    subscribe(ws, f"Q.{X}", expect_acks=1)
    recv_until(ws, has_status("error", "upstream refused"))
    relay.wait_health(lambda b: b["metrics"]["options"]["activeSubscriptions"] == 1, what="the refusal released")
    massive.drop("options")

    def second_socket_subscribed() -> bool:
        sockets = massive.relay_connections("options")
        return len(sockets) == 2 and any(f.get("action") == "subscribe" for f in sockets[1].received)

    massive.wait_for(second_socket_subscribed, what="the resubscription")
    second = massive.relay_connections("options")[1]
    assert [f["params"] for f in second.received if f.get("action") == "subscribe"] == [f"Q.{Y}"]
    ws.send(json.dumps({"action": "unsubscribe", "params": f"Q.{X}"}))
    assert has_status("error", f"Q.{X} refused: not subscribed")(recv_until(ws, has_status("error"))[-1])
