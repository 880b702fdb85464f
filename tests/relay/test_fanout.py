"""Fan-out through a real relay process: routing, ref-counted upstream subscriptions, the caps."""

import json
import time

from tests.fakes.massive import FakeMassive
from tests.relay.conftest import RelayProcess, StartRelay, has_status, recv_json, recv_until, statuses, subscribe

X = "O:SPY251219C00650000"
Y = "O:SPY251219P00640000"


def data_events(frame) -> list:
    return [e for e in frame if e.get("ev") != "status"]


def test_each_client_receives_only_events_of_channels_it_holds(relay: RelayProcess, massive: FakeMassive) -> None:
    a, b, c = relay.connect(), relay.connect(), relay.connect()
    subscribe(a, f"Q.{X}", expect_acks=1)
    subscribe(b, [f"Q.{Y}"], expect_acks=1)
    subscribe(c, "T.*", expect_acks=1)
    massive.wait_for(lambda: massive.subscriptions("options") == {f"Q.{X}", f"Q.{Y}", "T.*"}, what="subscriptions")
    massive.emit("options", [
        {"ev": "Q", "sym": X, "bp": 1.0}, {"ev": "Q", "sym": Y, "bp": 2.0}, {"ev": "T", "sym": X, "p": 3.0},
    ])
    for ws, expected in ((a, [{"ev": "Q", "sym": X, "bp": 1.0}]), (b, [{"ev": "Q", "sym": Y, "bp": 2.0}]),
                         (c, [{"ev": "T", "sym": X, "p": 3.0}])):
        frames = recv_until(ws, lambda f: bool(data_events(f)))
        assert data_events(frames[-1]) == expected
    massive.emit("options", [{"ev": "Q", "sym": X, "bp": 1.5}])
    assert data_events(recv_until(a, lambda f: bool(data_events(f)))[-1]) == [{"ev": "Q", "sym": X, "bp": 1.5}]
    for ws in (b, c):
        try:
            frame = recv_json(ws, timeout=0.3)
        except TimeoutError:
            continue
        assert not data_events(frame), f"a client got an event it did not subscribe to: {frame}"


def test_a_channel_goes_upstream_once_and_leaves_with_its_last_holder(
    relay: RelayProcess, massive: FakeMassive
) -> None:
    a, b = relay.connect(), relay.connect()
    subscribe(a, f"Q.{X}", expect_acks=1)
    subscribe(b, f"Q.{X}", expect_acks=1)
    massive.wait_for(lambda: massive.subscriptions("options") == {f"Q.{X}"})
    time.sleep(0.2)
    assert massive.frames("options", "subscribe") == [{"action": "subscribe", "params": f"Q.{X}"}]
    a.send(json.dumps({"action": "unsubscribe", "params": f"Q.{X}"}))
    recv_until(a, has_status("success", f"unsubscribed to: Q.{X}"))
    time.sleep(0.2)
    assert massive.frames("options", "unsubscribe") == []
    assert relay.cluster("options")["activeSubscriptions"] == 1
    b.close()
    massive.wait_for(lambda: massive.frames("options", "unsubscribe") == [
        {"action": "unsubscribe", "params": f"Q.{X}"}], what="the unsubscribe")
    assert relay.cluster("options")["activeSubscriptions"] == 0


def test_changes_within_a_tick_go_upstream_as_one_comma_joined_frame(
    relay: RelayProcess, massive: FakeMassive
) -> None:
    warm = relay.connect()
    subscribe(warm, "T.*", expect_acks=1)
    massive.wait_for(lambda: massive.subscriptions("options") == {"T.*"})
    ws = relay.connect()
    for channel in (f"Q.{X}", f"Q.{Y}", f"T.{X}"):
        ws.send(json.dumps({"action": "subscribe", "params": channel}))
    massive.wait_for(lambda: len(massive.subscriptions("options")) == 4)
    assert massive.frames("options", "subscribe")[1:] == [
        {"action": "subscribe", "params": f"Q.{X},Q.{Y},T.{X}"}]


def test_the_1001st_distinct_quote_contract_is_refused_to_the_client_asking(start_relay: StartRelay) -> None:
    relay = start_relay(RELAY_MAX_CHANNELS_PER_CLIENT="1000")
    first, second = relay.connect(), relay.connect()
    contracts = [f"Q.O:SPY251219C{i:08d}" for i in range(1000)]
    reply = subscribe(first, contracts)
    assert len(statuses(reply, "success")) == 1000
    refused = subscribe(second, [f"Q.{X}", contracts[5]])
    assert [e["message"] for e in statuses(refused, "error")] == [
        f"Q.{X} refused: Massive allows 1000 option quote contracts per connection and the relay holds that many"]
    assert [e["message"] for e in statuses(refused, "success")] == [f"subscribed to: {contracts[5]}"]
    assert relay.cluster("options")["activeSubscriptions"] == 1000


def test_health_counts_clients_channels_and_traffic(relay: RelayProcess, massive: FakeMassive) -> None:
    ws = relay.connect("indices")
    subscribe(ws, "V.SPX", expect_acks=1)
    massive.wait_for(lambda: massive.subscriptions("indices") == {"V.I:SPX"})
    massive.emit("indices", [{"ev": "V", "val": 6001.25, "T": "I:SPX", "t": 1}])
    assert data_events(recv_until(ws, lambda f: bool(data_events(f)))[-1])[0]["val"] == 6001.25
    code, body = relay.health()
    indices = body["metrics"]["indices"]
    assert code == 200 and body["healthy"] is True
    assert indices["totalClients"] == 1 and indices["activeSubscriptions"] == 1
    assert indices["upstreamConnections"] == 1 and indices["connectionState"] == "connected"
    assert indices["messagesIn"] >= 1 and indices["eventsOut"] == 1 and indices["lastConnectedAt"]
    assert body["metrics"]["options"]["connectionState"] == "idle"
    import requests

    metrics = requests.get(f"{relay.http}/metrics", timeout=5).text
    assert 'relay_clients{cluster="indices"} 1' in metrics
    assert 'relay_events_out_total{cluster="indices"} 1' in metrics
    basic = requests.get(f"{relay.http}/api/health", timeout=5).json()
    assert basic["status"] == "ok" and basic["uptime_s"] >= 0 and basic["timestamp"]
