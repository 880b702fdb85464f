"""Client-facing rules through a real relay: authentication, origins and every limit."""

import json
import time
import uuid

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from websockets.typing import Origin

from tests.fakes.jwks import serve_jwks
from tests.fakes.massive import FakeMassive
from tests.relay.conftest import (
    MASSIVE_KEY,
    PROXY_TOKEN,
    RelayProcess,
    StartRelay,
    admin_token,
    has_status,
    recv_json,
    recv_until,
    statuses,
    subscribe,
)
from tests.relay.rawclient import HandshakeRefused, RawClient

X = "O:SPY251219C00650000"


def closed_with(ws, timeout: float = 8.0) -> tuple[int | None, str]:
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ws.recv(timeout=deadline - time.monotonic())
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "closed without a close frame"
        return closed.rcvd.code, closed.rcvd.reason
    except TimeoutError:
        pass
    raise AssertionError("the relay did not close the connection")


def test_a_token_in_the_query_string_is_accepted(relay: RelayProcess) -> None:
    ws = relay.connect(token=admin_token())
    subscribe(ws, f"Q.{X}", expect_acks=1)


def test_a_bearer_header_is_accepted(relay: RelayProcess) -> None:
    with connect(relay.ws_url("options"), additional_headers={"Authorization": f"Bearer {admin_token()}"}) as ws:
        assert statuses(recv_json(ws), "connected")
        subscribe(ws, f"Q.{X}", expect_acks=1)


def test_the_proxy_token_is_accepted(relay: RelayProcess) -> None:
    ws = relay.connect(token=PROXY_TOKEN)
    subscribe(ws, f"Q.{X}", expect_acks=1)


def test_a_first_auth_frame_authenticates_like_massive(relay: RelayProcess) -> None:
    ws = relay.connect(token=None)
    ws.send(json.dumps({"action": "auth", "params": admin_token()}))
    assert statuses(recv_json(ws), "auth_success")
    subscribe(ws, f"Q.{X}", expect_acks=1)


@pytest.mark.parametrize("token", ["not-a-token", "eyJhbGciOiJIUzI1NiJ9.e30.x", "test-proxy-token-012345678"])
def test_a_bad_token_is_refused_with_401_before_the_upgrade(relay: RelayProcess, token: str) -> None:
    with pytest.raises(InvalidStatus) as refused:
        connect(relay.ws_url("options", token))
    assert refused.value.response.status_code == 401
    assert json.loads(refused.value.response.body)["error"]["code"] == "unauthorized"


def test_a_project_on_asymmetric_keys_signs_in_with_its_jwks(start_relay: StartRelay) -> None:
    # New Supabase projects sign with ES256 and publish only the public keys: no HS256 secret at all.
    with serve_jwks() as project:
        relay = start_relay(SUPABASE_JWT_SECRET=None, SUPABASE_URL=project.url)
        ws = relay.connect(token=project.access_token(uuid.uuid4()))
        subscribe(ws, f"Q.{X}", expect_acks=1)
        ws.close()
        head, body, _ = project.access_token(uuid.uuid4()).split(".")
        with pytest.raises(InvalidStatus) as refused:
            connect(relay.ws_url("options", f"{head}.{body}.{'A' * 86}"))
        assert refused.value.response.status_code == 401


def test_a_bad_auth_frame_closes_with_1008_unauthorized(relay: RelayProcess) -> None:
    ws = relay.connect(token=None)
    ws.send(json.dumps({"action": "auth", "params": "wrong"}))
    assert statuses(recv_json(ws), "auth_failed")
    assert closed_with(ws) == (1008, "unauthorized")


def test_no_auth_within_5s_closes_with_1008_unauthorized(relay: RelayProcess) -> None:
    ws = relay.connect(token=None)
    ws.send(json.dumps({"action": "subscribe", "params": f"Q.{X}"}))
    assert "authenticate first" in statuses(recv_json(ws), "error")[0]["message"]
    started = time.monotonic()
    assert closed_with(ws) == (1008, "unauthorized")
    assert 3.5 < time.monotonic() - started < 7


def test_an_expired_token_closes_the_socket_unless_refreshed(relay: RelayProcess) -> None:
    lapsing = relay.connect(token=admin_token(ttl_s=2))
    refreshed = relay.connect(token=admin_token(ttl_s=2))
    refreshed.send(json.dumps({"action": "auth", "params": admin_token(ttl_s=600)}))
    assert statuses(recv_json(refreshed), "auth_success")
    assert closed_with(lapsing) == (1008, "token expired")
    refreshed.send(json.dumps({"action": "ping"}))
    recv_until(refreshed, has_status("pong"))


def test_origins_outside_the_allowed_list_are_refused(start_relay: StartRelay) -> None:
    relay = start_relay(RELAY_ALLOWED_ORIGINS="https://app.example")
    with pytest.raises(InvalidStatus) as refused:
        connect(relay.ws_url("options", admin_token()), origin=Origin("https://evil.example"))
    assert refused.value.response.status_code == 403
    # The body and the relay's log name the setting to change (a browser sees neither the body nor a reason).
    assert b"RELAY_ALLOWED_ORIGINS" in refused.value.response.body
    assert "https://evil.example" in relay.logs() and "RELAY_ALLOWED_ORIGINS" in relay.logs()
    with connect(relay.ws_url("options", admin_token()), origin=Origin("https://app.example")) as ws:
        assert statuses(recv_json(ws), "connected")
    # Local pages are not allowed unless RELAY_ALLOW_LOCAL_ORIGINS is set (make dev sets it).
    with pytest.raises(InvalidStatus):
        connect(relay.ws_url("options", admin_token()), origin=Origin("http://localhost:5173"))


def test_make_devs_relay_accepts_pages_on_this_machine(start_relay: StartRelay) -> None:
    relay = start_relay(RELAY_ALLOW_LOCAL_ORIGINS="1")
    for origin in ("http://localhost:5173", "http://127.0.0.1:8080", "http://127.0.0.1:8000", "http://localhost"):
        with connect(relay.ws_url("options", admin_token()), origin=Origin(origin)) as ws:
            assert statuses(recv_json(ws), "connected")
    for origin in ("https://localhost.evil.example", "http://127.0.0.1.evil.example:80", "https://evil.example"):
        with pytest.raises(InvalidStatus) as refused:
            connect(relay.ws_url("options", admin_token()), origin=Origin(origin))
        assert refused.value.response.status_code == 403


def test_unknown_paths_are_404(relay: RelayProcess) -> None:
    with pytest.raises(HandshakeRefused) as refused:
        RawClient("127.0.0.1", relay.port, f"/ws/stocks?token={admin_token()}")
    assert refused.value.status == 404


def test_tokens_and_the_key_never_reach_the_logs(relay: RelayProcess) -> None:
    token = admin_token()
    ws = relay.connect(token=token)
    ws.send(json.dumps({"action": "auth", "params": token}))
    subscribe(ws, f"Q.{X}", expect_acks=1)
    with pytest.raises(InvalidStatus):
        connect(relay.ws_url("options", token + "x"))
    ws.close()
    time.sleep(0.3)
    logs = relay.logs()
    assert "[ConnectionPool]" in logs and "[WS options]" in logs
    for secret in (token, MASSIVE_KEY, PROXY_TOKEN):
        assert secret not in logs


def test_non_json_and_unknown_actions_get_an_error_and_keep_the_connection(relay: RelayProcess) -> None:
    ws = relay.connect()
    for frame, why in (("hello", "JSON objects"), ('{"action":"dance"}', "unknown action 'dance'"),
                       ('{"action":"subscribe"}', "params"), ('{"action":"subscribe","params":"Q.*"}', "Q.*")):
        ws.send(frame)
        assert why in statuses(recv_json(ws), "error")[0]["message"]
    subscribe(ws, f"Q.{X}", expect_acks=1)


def test_a_frame_over_64kb_gets_an_error_and_keeps_the_connection(relay: RelayProcess) -> None:
    ws = relay.connect(max_size=None)
    ws.send(json.dumps({"action": "subscribe", "params": "x" * 70_000}))
    assert "over the 65536 byte limit" in statuses(recv_json(ws), "error")[0]["message"]
    subscribe(ws, f"Q.{X}", expect_acks=1)


def test_more_than_50_frames_a_second_are_dropped_with_one_error(relay: RelayProcess) -> None:
    ws = relay.connect()
    for _ in range(80):
        ws.send(json.dumps({"action": "ping"}))
    frames = []
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        try:
            frames.append(recv_json(ws, timeout=0.5))
        except TimeoutError:
            break
    pongs = sum(len(statuses(f, "pong")) for f in frames)
    errors = [e["message"] for f in frames for e in statuses(f, "error")]
    assert 50 <= pongs < 80
    assert errors == ["more than 50 frames a second: frames dropped"]
    time.sleep(1.0)
    subscribe(ws, f"Q.{X}", expect_acks=1)


def test_clients_beyond_relay_max_clients_are_closed_1013_server_full(start_relay: StartRelay) -> None:
    relay = start_relay(RELAY_MAX_CLIENTS="2")
    first, second = relay.connect(), relay.connect()
    with connect(relay.ws_url("options", admin_token())) as third:
        assert closed_with(third) == (1013, "server full")
    second.close()
    time.sleep(0.2)
    relay.connect()
    first.send(json.dumps({"action": "ping"}))
    recv_until(first, has_status("pong"))


def test_a_client_that_never_reads_is_closed_4008_and_slows_nobody(
    relay: RelayProcess, massive: FakeMassive
) -> None:
    stuck = RawClient("127.0.0.1", relay.port, f"/ws/options?token={admin_token()}", rcvbuf=4096)
    stuck.send_json({"action": "subscribe", "params": "T.*"})
    reader = relay.connect()
    subscribe(reader, "T.*", expect_acks=1)
    massive.wait_for(lambda: massive.subscriptions("options") == {"T.*"})
    padding = "x" * 900
    latencies = []
    for batch in range(150):
        sent_at = time.monotonic()
        massive.emit("options", [{"ev": "T", "sym": X, "p": batch, "pad": padding, "i": i} for i in range(20)])
        frame = recv_until(reader, lambda f: any(e.get("ev") == "T" for e in f))[-1]
        latencies.append(time.monotonic() - sent_at)
        assert frame[0]["p"] == batch
    body = relay.wait_health(lambda b: b["metrics"]["options"]["slowConsumerDisconnects"] == 1, what="4008")
    assert body["metrics"]["options"]["totalClients"] == 1
    latencies.sort()
    assert latencies[len(latencies) * 9 // 10] < 0.25, latencies
    close = stuck.read_until_close()
    assert (close.close_code, close.close_reason) == (4008, "slow consumer")


def test_pings_from_a_client_that_never_reads_leave_one_pong_waiting(relay: RelayProcess) -> None:
    flooder = RawClient("127.0.0.1", relay.port, f"/ws/options?token={PROXY_TOKEN}", rcvbuf=4096)
    pings = 150
    for n in range(pings):
        flooder.send_frame(0x9, str(n).encode().rjust(125, b"p"))
    time.sleep(1.2)
    flooder.send_json({"action": "ping"})
    pongs = []
    while True:
        frame = flooder.read_frame()
        if frame.opcode == 0xA:
            pongs.append(frame.payload)
        elif frame.opcode == 0x1 and statuses(frame.json(), "pong"):
            break
    assert len(pongs) < 50, "every ping's pong was queued while the client was not reading"
    flooder.close()


def test_a_client_that_vanishes_is_reaped_and_its_channels_released(
    relay: RelayProcess, massive: FakeMassive
) -> None:
    ghost = RawClient("127.0.0.1", relay.port, f"/ws/options?token={admin_token()}")
    ghost.send_json({"action": "subscribe", "params": f"Q.{X}"})
    massive.wait_for(lambda: massive.subscriptions("options") == {f"Q.{X}"})
    ghost.abort()
    relay.wait_health(lambda b: b["metrics"]["options"]["totalClients"] == 0, what="the reaping")
    massive.wait_for(lambda: not massive.subscriptions("options"), what="the unsubscribe")


def test_a_client_that_stops_answering_pings_is_reaped(start_relay: StartRelay) -> None:
    relay = start_relay(RELAY_PING_INTERVAL_S="0.5", RELAY_PONG_TIMEOUT_S="0.5")
    silent = RawClient("127.0.0.1", relay.port, f"/ws/options?token={admin_token()}")
    alive = relay.connect()
    relay.wait_health(lambda b: b["metrics"]["options"]["totalClients"] == 2)
    relay.wait_health(lambda b: b["metrics"]["options"]["totalClients"] == 1, timeout=5, what="the reaping")
    frames = []
    while True:
        frame = silent.read_frame()
        frames.append(frame.opcode)
        if frame.opcode == 0x8:
            assert frame.close_code == 4012
            break
    assert 0x9 in frames
    alive.send(json.dumps({"action": "ping"}))
    recv_until(alive, has_status("pong"))


def test_a_thousand_clients_come_and_go_and_every_count_returns_to_zero(
    start_relay: StartRelay, massive: FakeMassive
) -> None:
    relay = start_relay(RELAY_IDLE_CLOSE_S="1.0")
    clients = []
    for i in range(1000):
        client = RawClient("127.0.0.1", relay.port, f"/ws/options?token={PROXY_TOKEN}")
        client.send_json({"action": "subscribe", "params": f"Q.O:SPY251219C{i % 250:08d},T.*"})
        clients.append(client)
    for client in clients:
        # The ack may come behind the greeting and an upstream_connected notice, in any grouping.
        replies = [client.read_data()]
        while not statuses(replies[-1], "success") and len(replies) < 6:
            replies.append(client.read_data())
        assert any(statuses(r, "success") for r in replies), replies
    body = relay.wait_health(lambda b: b["metrics"]["options"]["totalClients"] == 1000, what="1000 clients")
    assert body["metrics"]["options"]["activeSubscriptions"] == 251
    massive.wait_for(lambda: len(massive.subscriptions("options")) == 251)
    for i, client in enumerate(clients):
        client.close() if i % 2 else client.abort()
    body = relay.wait_health(lambda b: b["metrics"]["options"]["totalClients"] == 0, timeout=10, what="all gone")
    assert body["metrics"]["options"]["activeSubscriptions"] == 0
    massive.wait_for(lambda: not massive.live("options"), timeout=5, what="the idle close")
    body = relay.wait_health(lambda b: b["metrics"]["options"]["upstreamConnections"] == 0)
    assert body["metrics"]["options"]["connectionState"] == "idle" and body["healthy"]
    assert massive.most_open_at_once("options") == 1
