"""The upstream sockets' life through a real relay: reconnects, the cap, auth failure, eviction, idling."""

import json
import time
from functools import partial

from websockets.sync.client import connect

from tests.fakes.massive import FakeMassive
from tests.relay.conftest import MASSIVE_KEY, PROXY_TOKEN, RelayProcess, StartRelay, has_status, recv_until, subscribe

X = "O:SPY251219C00650000"


def quote(bid: float) -> dict:
    return {"ev": "Q", "sym": X, "bp": bid}


def got_quote(bid: float):
    return lambda frame: quote(bid) in frame


def test_an_abrupt_drop_reconnects_resubscribes_and_keeps_clients_told(
    relay: RelayProcess, massive: FakeMassive
) -> None:
    a, b = relay.connect(), relay.connect()
    subscribe(a, f"Q.{X}", expect_acks=1)
    subscribe(b, "T.*", expect_acks=1)
    massive.wait_for(lambda: massive.subscriptions("options") == {f"Q.{X}", "T.*"})
    assert massive.drop("options") == 1
    for ws in (a, b):
        recv_until(ws, has_status("upstream_disconnected", "reconnecting"))
        recv_until(ws, has_status("upstream_connected"), timeout=8)
    massive.wait_for(lambda: massive.subscriptions("options") == {f"Q.{X}", "T.*"}, what="resubscription")
    assert len(massive.relay_connections("options")) == 2
    resubscribe = massive.relay_connections("options")[1].received
    assert resubscribe[0]["action"] == "auth"
    assert resubscribe[1] == {"action": "subscribe", "params": f"Q.{X},T.*"}
    massive.emit("options", [quote(2.5)])
    recv_until(a, got_quote(2.5))
    options = relay.cluster("options")
    assert options["connectionState"] == "connected" and options["reconnectAttempts"] == 0
    assert options["totalClients"] == 2 and options["lastError"]


def reconnected(massive: FakeMassive, connections: int) -> bool:
    return len(massive.relay_connections("options")) == connections


def test_repeated_drops_never_open_a_second_socket_for_a_cluster(relay: RelayProcess, massive: FakeMassive) -> None:
    ws = relay.connect()
    subscribe(ws, f"Q.{X}", expect_acks=1)
    for round_ in range(4):
        massive.wait_for(lambda: len(massive.live("options")) == 1 and bool(massive.subscriptions("options")))
        massive.drop("options")
        massive.wait_for(partial(reconnected, massive, round_ + 2), timeout=10, what="a reconnect")
    assert massive.peak_per_cluster["options"] == 1


def test_max_ws_connections_caps_sockets_and_tells_the_starved_cluster(
    start_relay: StartRelay, massive: FakeMassive
) -> None:
    relay = start_relay(MAX_WS_CONNECTIONS="1", RELAY_IDLE_CLOSE_S="0.3")
    options = relay.connect("options")
    subscribe(options, f"Q.{X}", expect_acks=1)
    massive.wait_for(lambda: len(massive.live("options")) == 1)
    indices = relay.connect("indices")
    indices.send(json.dumps({"action": "subscribe", "params": "V.SPX"}))
    recv_until(indices, has_status("error", "MAX_WS_CONNECTIONS=1 is used by other clusters"))
    body = relay.wait_health(lambda b: any("MAX_WS_CONNECTIONS=1" in w for w in b["warnings"]), what="the cap")
    assert body["metrics"]["indices"]["upstreamConnections"] == 0
    assert len(massive.live()) == 1
    options.close()
    recv_until(indices, has_status("upstream_connected"), timeout=5)
    massive.wait_for(lambda: massive.subscriptions("indices") == {"V.I:SPX"})
    assert massive.most_open_at_once() == 1
    assert len(massive.live()) == 1 and massive.live()[0].cluster == "indices"


def test_a_refused_key_is_auth_failed_unhealthy_and_not_retried_at_once(
    relay: RelayProcess, massive: FakeMassive
) -> None:
    massive.reject_keys = True
    ws = relay.connect()
    subscribe(ws, f"Q.{X}", expect_acks=1)
    recv_until(ws, has_status("upstream_disconnected", "refused the relay's API key"))
    time.sleep(1.5)
    code, body = relay.health()
    assert code == 503 and body["healthy"] is False
    assert body["metrics"]["options"]["connectionState"] == "auth_failed"
    assert any("refused the API key" in w for w in body["warnings"])
    assert len(massive.relay_connections("options")) == 1


def test_eviction_by_another_process_backs_off_and_reports_it(relay: RelayProcess, massive: FakeMassive) -> None:
    ws = relay.connect()
    subscribe(ws, f"Q.{X}", expect_acks=1)
    massive.wait_for(lambda: massive.subscriptions("options") == {f"Q.{X}"})
    with connect(f"{massive.url}/options?peer=1") as other_process:
        other_process.recv(timeout=2)
        other_process.send(json.dumps({"action": "auth", "params": MASSIVE_KEY}))
        assert "auth_success" in str(other_process.recv(timeout=2))
        recv_until(ws, has_status("upstream_disconnected", "another process uses the Massive key"))
        time.sleep(2.0)
        code, body = relay.health()
        assert code == 503 and body["metrics"]["options"]["connectionState"] == "evicted"
        assert any("another process holds" in w for w in body["warnings"])
        assert len(massive.relay_connections("options")) == 1
        assert massive.relay_connections("options")[0].evicted
    ws.send(json.dumps({"action": "ping"}))
    recv_until(ws, has_status("pong"))


def test_the_upstream_closes_after_the_idle_time_and_reopens_on_demand(
    start_relay: StartRelay, massive: FakeMassive
) -> None:
    relay = start_relay(RELAY_IDLE_CLOSE_S="1.0")
    ws = relay.connect()
    subscribe(ws, f"Q.{X}", expect_acks=1)
    massive.wait_for(lambda: len(massive.live("options")) == 1)
    ws.send(json.dumps({"action": "unsubscribe", "params": f"Q.{X}"}))
    time.sleep(0.5)
    assert len(massive.live("options")) == 1, "closed before the idle time"
    massive.wait_for(lambda: not massive.live("options"), timeout=3, what="the idle close")
    health = relay.wait_health(lambda b: b["metrics"]["options"]["connectionState"] == "idle")
    assert health["healthy"] and health["metrics"]["options"]["upstreamConnections"] == 0
    subscribe(ws, f"Q.{X}", expect_acks=1)
    massive.wait_for(lambda: massive.subscriptions("options") == {f"Q.{X}"})


def test_a_silent_upstream_is_treated_as_dropped(start_relay: StartRelay, massive: FakeMassive) -> None:
    relay = start_relay(RELAY_UPSTREAM_SILENCE_S="1.0")
    massive.silent = True
    ws = relay.connect()
    subscribe(ws, f"Q.{X}", expect_acks=1)
    recv_until(ws, has_status("upstream_disconnected", "nothing from the upstream"), timeout=5)
    massive.wait_for(lambda: len(massive.relay_connections("options")) >= 2, timeout=5, what="a reconnect")


def test_a_greeting_that_is_not_json_is_a_drop_and_the_link_reconnects(
    relay: RelayProcess, massive: FakeMassive
) -> None:
    massive.garbled_greetings = 1
    ws = relay.connect()
    subscribe(ws, f"Q.{X}", expect_acks=1)
    recv_until(ws, has_status("upstream_disconnected", "JSONDecodeError"), timeout=5)
    recv_until(ws, has_status("upstream_connected"), timeout=5)
    massive.wait_for(lambda: massive.subscriptions("options") == {f"Q.{X}"}, what="the resubscription")
    assert len(massive.relay_connections("options")) == 2
    assert relay.cluster("options")["connectionState"] == "connected"


def test_a_cluster_no_one_wants_any_more_is_not_reported_waiting_for_a_socket(
    start_relay: StartRelay, massive: FakeMassive
) -> None:
    relay = start_relay(MAX_WS_CONNECTIONS="1")
    options = relay.connect("options")
    subscribe(options, f"Q.{X}", expect_acks=1)
    massive.wait_for(lambda: len(massive.live("options")) == 1)
    indices = relay.connect("indices")
    indices.send(json.dumps({"action": "subscribe", "params": "V.SPX"}))
    recv_until(indices, has_status("error", "MAX_WS_CONNECTIONS=1 is used by other clusters"))
    relay.wait_health(lambda b: any("MAX_WS_CONNECTIONS=1" in w for w in b["warnings"]), what="the cap")
    indices.send(json.dumps({"action": "unsubscribe", "params": "V.I:SPX"}))
    recv_until(indices, has_status("success", "unsubscribed to: V.I:SPX"))
    body = relay.wait_health(lambda b: not b["warnings"], what="the warning gone")
    assert body["healthy"] and body["metrics"]["indices"]["connectionState"] == "idle"
    fresh = relay.connect("indices", token=None)
    fresh.send(json.dumps({"action": "auth", "params": PROXY_TOKEN}))
    fresh.send(json.dumps({"action": "ping"}))
    told = recv_until(fresh, has_status("pong"))
    assert not any("MAX_WS_CONNECTIONS" in str(frame) for frame in told)


def test_a_channel_retaken_after_the_link_went_idle_from_backoff_reconnects(
    relay: RelayProcess, massive: FakeMassive
) -> None:
    ws = relay.connect()
    subscribe(ws, f"Q.{X}", expect_acks=1)
    massive.wait_for(lambda: massive.subscriptions("options") == {f"Q.{X}"})
    massive.garbled_greetings = 100
    massive.drop("options")
    recv_until(ws, has_status("upstream_disconnected"))
    ws.send(json.dumps({"action": "unsubscribe", "params": f"Q.{X}"}))
    recv_until(ws, has_status("success", "unsubscribed to"))
    relay.wait_health(lambda b: b["metrics"]["options"]["connectionState"] == "idle", timeout=8, what="idle")
    massive.garbled_greetings = 0
    subscribe(ws, f"Q.{X}", expect_acks=1)
    recv_until(ws, has_status("upstream_connected"), timeout=5)
    massive.wait_for(lambda: massive.subscriptions("options") == {f"Q.{X}"}, what="the resubscription")
