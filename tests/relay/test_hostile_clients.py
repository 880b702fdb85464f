"""Attacks on a running relay: floods, sockets that never authenticate, half-open requests, huge frames.

Each runs beside a healthy admin streaming trades and a prober of `/api/health`: whatever the
attacker does, the admin's stream never stalls for a second and `/api/health` keeps answering.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import select
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import psutil
import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.fakes.massive import FakeMassive
from tests.relay.conftest import (
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
from tests.relay.rawclient import RawClient, client_frame

X = "O:SPY251219C00650000"
STALL_S = 1.0
EMIT_EVERY_S = 0.05


@dataclass
class Watch:
    """What the healthy admin and the health prober saw while an attack ran."""

    received: list[float] = field(default_factory=list)
    health_s: list[float] = field(default_factory=list)
    health_failures: list[str] = field(default_factory=list)

    def longest_gap(self) -> float:
        times = self.received
        return max((b - a for a, b in itertools.pairwise(times)), default=float("inf"))


@contextlib.contextmanager
def healthy_admin(relay: RelayProcess, massive: FakeMassive) -> Iterator[Watch]:
    """An admin streaming a trade every 50 ms and a prober of /api/health, checked when the block ends."""
    admin = relay.connect()
    subscribe(admin, "T.*", expect_acks=1)
    massive.wait_for(lambda: "T.*" in massive.subscriptions("options"), what="T.* upstream")
    watch = Watch()
    done = threading.Event()

    def emit() -> None:
        n = 0
        while not done.is_set():
            n += 1
            massive.emit("options", [{"ev": "T", "sym": X, "p": 1.0, "n": n}])
            time.sleep(EMIT_EVERY_S)

    def receive() -> None:
        while not done.is_set():
            try:
                frame = json.loads(admin.recv(timeout=0.2))
            except TimeoutError:
                continue
            except ConnectionClosed:
                return
            if any(event.get("ev") == "T" for event in frame):
                watch.received.append(time.monotonic())

    def probe() -> None:
        while not done.is_set():
            started = time.monotonic()
            try:
                response = requests.get(f"{relay.http}/api/health", timeout=5)
                if response.status_code != 200:
                    watch.health_failures.append(f"HTTP {response.status_code}")
            except requests.RequestException as error:
                watch.health_failures.append(repr(error))
            watch.health_s.append(time.monotonic() - started)
            time.sleep(0.1)

    threads = [threading.Thread(target=target, daemon=True) for target in (emit, receive, probe)]
    for thread in threads:
        thread.start()
    time.sleep(0.3)
    try:
        yield watch
    finally:
        time.sleep(0.3)
        done.set()
        for thread in threads:
            thread.join(timeout=6)
        admin.close()
    assert watch.received, "the admin received nothing"
    assert watch.longest_gap() < STALL_S, f"the admin's stream stalled {watch.longest_gap():.2f} s"
    assert not watch.health_failures, watch.health_failures
    assert max(watch.health_s) < STALL_S, f"/api/health took {max(watch.health_s):.2f} s"


def flood(client: RawClient, frame: bytes, seconds: float) -> float:
    """Send `frame` without pause until the relay cuts the socket or `seconds` pass; the time it took."""
    blob = frame * max(1, 16384 // len(frame))
    started = time.monotonic()
    client.sock.settimeout(1.0)
    with contextlib.suppress(OSError):
        while time.monotonic() - started < seconds:
            client.sock.sendall(blob)
    return time.monotonic() - started


def closed_by_relay(sock: socket.socket, timeout: float) -> bool:
    """Whether the relay ends the connection (EOF or reset) within `timeout`, reading what it sent first."""
    deadline = time.monotonic() + timeout
    sock.setblocking(False)
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], max(0.0, deadline - time.monotonic()))
        if not readable:
            continue
        try:
            if not sock.recv(65536):
                return True
        except BlockingIOError:
            continue
        except OSError:
            return True
    return False


FLOODS = {
    "empty pongs": client_frame(0xA, b""),
    "pings": client_frame(0x9, b"p"),
    "ping actions": client_frame(0x1, b'{"action":"ping"}'),
}


@pytest.mark.parametrize("kind", list(FLOODS))
def test_an_unauthenticated_flood_is_cut_and_stalls_no_one(
    relay: RelayProcess, massive: FakeMassive, kind: str
) -> None:
    with healthy_admin(relay, massive):
        attacker = RawClient("127.0.0.1", relay.port, "/ws/options")
        took = flood(attacker, FLOODS[kind], seconds=8.0)
    assert took < 4.0, f"the relay let a {kind} flood run {took:.1f} s"


def test_an_authenticated_flood_is_cut_and_stalls_no_one(relay: RelayProcess, massive: FakeMassive) -> None:
    with healthy_admin(relay, massive):
        attacker = RawClient("127.0.0.1", relay.port, f"/ws/options?token={PROXY_TOKEN}")
        took = flood(attacker, FLOODS["ping actions"], seconds=8.0)
    assert took < 4.0


@pytest.mark.parametrize("kind", list(FLOODS))
def test_a_client_past_twice_the_frame_rate_is_closed_1008(relay: RelayProcess, kind: str) -> None:
    client = RawClient("127.0.0.1", relay.port, f"/ws/options?token={PROXY_TOKEN}")
    client.send_raw(FLOODS[kind] * 500)
    close = client.read_until_close()
    assert (close.close_code, close.close_reason) == (1008, "rate limit exceeded")


def test_sockets_waiting_to_authenticate_take_no_client_slot(
    start_relay: StartRelay, massive: FakeMassive
) -> None:
    relay = start_relay(RELAY_MAX_CLIENTS="5")
    with healthy_admin(relay, massive):
        waiting = [RawClient("127.0.0.1", relay.port, "/ws/options") for _ in range(60)]
        by_url = relay.connect(token=admin_token())
        subscribe(by_url, f"Q.{X}", expect_acks=1)
        by_header = connect(relay.ws_url("options"), additional_headers={"Authorization": f"Bearer {admin_token()}"})
        assert statuses(recv_json(by_header), "connected")
        subscribe(by_header, f"Q.{X}", expect_acks=1)
        by_frame = relay.connect(token=None)
        by_frame.send(json.dumps({"action": "auth", "params": admin_token()}))
        recv_until(by_frame, has_status("auth_success"))
        subscribe(by_frame, f"T.{X}", expect_acks=1)
        body = relay.wait_health(lambda b: b["metrics"]["options"]["totalClients"] == 4, what="4 clients")
        assert body["waitingToAuthenticate"] == 60
    for client in waiting:
        assert client.read_data()[0]["status"] == "connected"
        close = client.read_until_close()
        assert (close.close_code, close.close_reason) == (1008, "unauthorized")
    relay.wait_health(lambda b: b["waitingToAuthenticate"] == 0, what="the waiting sockets closed")


def test_past_128_waiting_sockets_the_oldest_is_closed_and_an_admin_still_authenticates(
    relay: RelayProcess, massive: FakeMassive
) -> None:
    with healthy_admin(relay, massive):
        waiting = [RawClient("127.0.0.1", relay.port, "/ws/indices") for _ in range(140)]
        for client in waiting[:12]:
            close = client.read_until_close()
            assert (close.close_code, close.close_reason) == (1013, "too many connections waiting to authenticate")
        admin = relay.connect(token=None)
        admin.send(json.dumps({"action": "auth", "params": admin_token()}))
        recv_until(admin, has_status("auth_success"))
        subscribe(admin, f"Q.{X}", expect_acks=1)
        assert relay.health()[1]["waitingToAuthenticate"] <= 128
    for client in waiting:
        client.abort()


def test_half_open_requests_cannot_keep_an_admin_out_and_are_closed(
    start_relay: StartRelay, massive: FakeMassive
) -> None:
    relay = start_relay(RELAY_MAX_CLIENTS="50")
    half_open = []
    for _ in range(300):
        sock = socket.create_connection(("127.0.0.1", relay.port), timeout=5)
        sock.sendall(b"GET /ws/options HTTP/1.1\r\nHost: x\r\n")
        half_open.append(sock)
    with healthy_admin(relay, massive):
        started = time.monotonic()
        with connect(relay.ws_url("options", admin_token()), open_timeout=3) as late:
            assert statuses(recv_json(late), "connected")
            assert time.monotonic() - started < 3.0
            subscribe(late, f"Q.{X}", expect_acks=1)
    open_after = [sock for sock in half_open if not closed_by_relay(sock, timeout=8.0)]
    assert not open_after, f"{len(open_after)} half-open requests still held"
    for sock in half_open:
        sock.close()


def test_a_request_head_dripped_slowly_is_cut_at_the_deadline(relay: RelayProcess) -> None:
    sock = socket.create_connection(("127.0.0.1", relay.port), timeout=5)
    started = time.monotonic()
    sock.sendall(b"GET /api/health HTTP/1.1\r\n")
    with contextlib.suppress(OSError):
        for _ in range(20):
            time.sleep(0.5)
            sock.sendall(b"X-Drip: 1\r\n")
    assert closed_by_relay(sock, timeout=5.0)
    assert 4.0 < time.monotonic() - started < 11.0
    sock.close()


def junk_names(count: int) -> str:
    return ",".join(f"J{i}" for i in range(count))


def test_a_frame_naming_more_channels_than_a_client_may_hold_is_refused_whole_with_one_error(
    relay: RelayProcess, massive: FakeMassive
) -> None:
    client = RawClient("127.0.0.1", relay.port, f"/ws/options?token={PROXY_TOKEN}")
    client.read_data()
    with healthy_admin(relay, massive):
        client.send_json({"action": "subscribe", "params": ",".join(["x"] * 30_000)})
        reply = client.read_data()
        while statuses(reply, "upstream_connected"):
            reply = client.read_data()
    assert reply == [{"ev": "status", "status": "error", "message": (
        "a frame may name at most 200 channels (RELAY_MAX_CHANNELS_PER_CLIENT): the whole frame was refused")}]


def test_invalid_and_repeated_names_get_one_summarising_error(relay: RelayProcess) -> None:
    ws = relay.connect()
    names = [f"Q.{X}", f"Q.{X}", "Q.*", *(f"BAD{i}" for i in range(150)), f"T.{X}"]
    ws.send(json.dumps({"action": "subscribe", "params": names}))
    frame = recv_until(ws, lambda f: bool(statuses(f, "error")))[-1]
    assert [e["message"] for e in statuses(frame, "success")] == [f"subscribed to: Q.{X}", f"subscribed to: T.{X}"]
    errors = [e["message"] for e in statuses(frame, "error")]
    assert len(errors) == 1
    assert errors[0].startswith("151 invalid channel names refused (Q.*: Q.* is not allowed on options")
    assert errors[0].endswith("and 148 more); 1 repeated names counted once")
    assert len(json.dumps(frame)) < 1024


def worker_rss(relay: RelayProcess) -> int:
    master = psutil.Process(relay.process.pid)
    return int((master.children() or [master])[0].memory_info().rss)


def test_four_clients_sending_junk_frames_slow_no_one_and_cost_no_memory(
    relay: RelayProcess, massive: FakeMassive
) -> None:
    rss_before = worker_rss(relay)
    attackers = [RawClient("127.0.0.1", relay.port, f"/ws/options?token={PROXY_TOKEN}") for _ in range(4)]
    junk = client_frame(0x1, json.dumps({"action": "subscribe", "params": junk_names(200)}).encode())
    big = client_frame(0x1, json.dumps({"action": "subscribe", "params": ",".join(["x"] * 30_000)}).encode())
    with healthy_admin(relay, massive):
        for _ in range(20):
            for attacker in attackers:
                with contextlib.suppress(OSError):
                    attacker.send_raw(junk + big)
            time.sleep(0.1)
    assert worker_rss(relay) - rss_before < 20 * 2**20
    for attacker in attackers:
        attacker.abort()


def test_one_client_holds_at_most_relay_max_channels_per_client_and_others_still_subscribe(
    relay: RelayProcess,
) -> None:
    greedy, other = relay.connect(), relay.connect()
    held = [f"Q.O:SPY251219C{i:08d}" for i in range(200)]
    assert len(statuses(subscribe(greedy, held), "success")) == 200
    refused = subscribe(greedy, f"Q.{X}")
    assert statuses(refused, "error")[0]["message"] == (
        f"Q.{X} refused: this connection already holds 200 channels, the most one client may "
        "(RELAY_MAX_CHANNELS_PER_CLIENT)")
    subscribe(other, f"Q.{X}", expect_acks=1)
    assert relay.health()[1]["limits"]["maxChannelsPerClient"] == 200


def test_relay_max_channels_per_client_is_configurable(start_relay: StartRelay) -> None:
    relay = start_relay(RELAY_MAX_CHANNELS_PER_CLIENT="3")
    ws = relay.connect()
    reply = subscribe(ws, [f"T.O:SPY251219C{i:08d}" for i in range(3)])
    assert len(statuses(reply, "success")) == 3
    refused = subscribe(ws, [f"T.O:SPY251219P{i:08d}" for i in range(2)])
    assert statuses(refused, "error")[0]["message"].startswith(
        "2 channels refused (this connection already holds 3 channels")
