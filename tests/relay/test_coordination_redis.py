"""Three relay processes behind one key, on loopback with the real Redis and the fake Massive."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import pytest
import redis
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection

from tests.fakes.massive import FakeMassive
from tests.relay.conftest import (
    TEST_REDIS_URL,
    RelayProcess,
    StartRelay,
    has_status,
    recv_json,
    recv_until,
    statuses,
    subscribe,
)

REDIS_URL = TEST_REDIS_URL
X1, X2, X3 = "O:SPY251219C00650000", "O:SPY251219P00600000", "O:QQQ251219C00500000"
TAKEOVER_S = 5.0


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own, so tests (and CI runs sharing the Redis) never collide."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as error:
        pytest.fail(f"the cluster tests need Redis at {REDIS_URL} (.ci/run starts one): {error}")
    prefix = f"hdtest:{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


@pytest.fixture
def start_member(redis_prefix: str, start_relay: StartRelay) -> Callable[..., RelayProcess]:
    def _start(name: str, redis_url: str = REDIS_URL, **env: str) -> RelayProcess:
        return start_relay(REDIS_URL=redis_url, RELAY_REDIS_PREFIX=redis_prefix, RELAY_NODE_ID=name, **env)

    return _start


def role(relay: RelayProcess) -> str | None:
    try:
        return str(relay.health()[1]["role"])
    except (requests.RequestException, ValueError, KeyError):
        return None


def wait_leader(relays: list[RelayProcess], timeout: float = TAKEOVER_S) -> RelayProcess:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        leaders = [r for r in relays if role(r) == "leader"]
        if len(leaders) == 1:
            return leaders[0]
        time.sleep(0.05)
    raise AssertionError(f"no single leader among {[role(r) for r in relays]}")


def client(relay: RelayProcess) -> ClientConnection:
    """A client whose unread frames never stop it from answering the relay's close (no 16-frame queue)."""
    return relay.connect(max_queue=None)


def quote(sym: str, bid: float) -> dict[str, Any]:
    return {"ev": "Q", "sym": sym, "bp": bid}


def events_of(frame: Any) -> list[dict[str, Any]]:
    return [e for e in frame if e.get("ev") != "status"]


def streams(massive: FakeMassive, ws: ClientConnection, sym: str, timeout: float = 8.0) -> None:
    """Emit quotes of `sym` until `ws` gets one (the leader may still be subscribing)."""
    deadline = time.monotonic() + timeout
    bid = round(time.monotonic() % 1000, 3)
    while time.monotonic() < deadline:
        massive.emit("options", [quote(sym, bid)])
        try:
            frame = recv_json(ws, timeout=0.2)
        except TimeoutError:
            continue
        if quote(sym, bid) in events_of(frame):
            return
    raise AssertionError(f"{sym} never reached the client")


def new_socket(massive: FakeMassive, before: int) -> bool:
    """A relay socket opened and authenticated since there were `before`."""
    sockets = massive.relay_connections("options")
    return len(sockets) > before and sockets[-1].authenticated


def no_eviction(massive: FakeMassive) -> None:
    assert massive.most_open_at_once("options") == 1
    assert not any(c.evicted for c in massive.relay_connections("options"))


def test_clients_spread_over_three_instances_get_exactly_their_channels(
    start_member: Callable[..., RelayProcess], massive: FakeMassive
) -> None:
    relays = [start_member(f"node-{i}") for i in range(3)]
    leader = wait_leader(relays)
    a, b, c = (client(r) for r in relays)
    subscribe(a, f"Q.{X1}", expect_acks=1)
    subscribe(b, f"Q.{X2},Q.{X1}", expect_acks=2)
    subscribe(c, "T.*", expect_acks=1)
    massive.wait_for(lambda: massive.subscriptions("options") == {f"Q.{X1}", f"Q.{X2}", "T.*"}, what="the union")
    trade = {"ev": "T", "sym": X3, "p": 1.5, "s": 2}
    massive.emit("options", [quote(X1, 1.0), quote(X2, 2.0), quote(X3, 3.0), trade])
    assert events_of(recv_until(a, lambda f: bool(events_of(f)))[-1]) == [quote(X1, 1.0)]
    got_b = [e for f in recv_until(b, lambda f: quote(X2, 2.0) in f) for e in events_of(f)]
    assert sorted(got_b, key=lambda e: e["sym"]) == [quote(X1, 1.0), quote(X2, 2.0)]
    assert events_of(recv_until(c, lambda f: bool(events_of(f)))[-1]) == [trade]
    # Nothing else arrives: every event reached each client once, and only its own.
    for ws in (a, b, c):
        with pytest.raises(TimeoutError):
            recv_json(ws, timeout=0.3)
    b.send(json.dumps({"action": "unsubscribe", "params": f"Q.{X1}"}))
    recv_until(b, has_status("success", "unsubscribed"))
    massive.emit("options", [quote(X1, 4.0)])
    recv_until(a, lambda f: quote(X1, 4.0) in f)
    with pytest.raises(TimeoutError):
        recv_json(b, timeout=0.3)
    code, body = relays[1].health()
    assert code == 200
    assert body["role"] == "follower" and body["node"] == "node-1" and body["leader"] == leader.health()[1]["node"]
    assert body["clusterWide"]["instances"] == 3 and body["clusterWide"]["totalClients"] == 3
    assert body["clusterWide"]["activeSubscriptions"]["options"] == 3
    assert body["metrics"]["options"]["upstreamConnections"] == 0
    assert leader.health()[1]["metrics"]["options"]["upstreamConnections"] == 1
    assert all(requests.get(f"{r.http}/api/ready", timeout=2).status_code == 200 for r in relays)
    no_eviction(massive)


def test_the_quote_cap_is_global_and_a_followers_client_gets_the_leaders_answers(
    start_member: Callable[..., RelayProcess], massive: FakeMassive
) -> None:
    relays = [start_member(f"cap-{i}", RELAY_MAX_CHANNELS_PER_CLIENT="1000") for i in range(2)]
    wait_leader(relays)
    contracts = [f"Q.O:SPY261218C{300_000 + 1_000 * i:08d}" for i in range(1001)]
    a, b = client(relays[0]), client(relays[1])
    subscribe(a, ",".join(contracts[:600]), expect_acks=600)
    subscribe(b, ",".join(contracts[600:1000] + contracts[:1]), expect_acks=401)
    frame = subscribe(b, contracts[1000])
    assert statuses(frame) == [{
        "ev": "status", "status": "error",
        "message": f"{contracts[1000]} refused: Massive allows 1000 option quote contracts per connection and the "
                   "relay holds that many",
    }]
    frame = subscribe(a, contracts[1000])
    assert "refused: Massive allows 1000" in statuses(frame, "error")[0]["message"]
    massive.wait_for(lambda: len(massive.subscriptions("options")) == 1000, what="1,000 contracts upstream")


def test_sigkill_of_the_leader_a_follower_leads_within_5_s_and_clients_stream_again(
    start_member: Callable[..., RelayProcess], massive: FakeMassive
) -> None:
    relays = [start_member(f"kill-{i}") for i in range(3)]
    leader = wait_leader(relays)
    survivors = [r for r in relays if r is not leader]
    clients = [client(r) for r in survivors]
    for ws in clients:
        subscribe(ws, f"Q.{X1}", expect_acks=1)
    for ws in clients:
        streams(massive, ws, X1)
    leader.process.send_signal(signal.SIGKILL)
    killed = time.monotonic()
    new_leader = wait_leader(survivors, timeout=TAKEOVER_S + 1)
    massive.wait_for(lambda: f"Q.{X1}" in massive.subscriptions("options"), timeout=TAKEOVER_S, what="resubscribed")
    took = time.monotonic() - killed
    assert took < TAKEOVER_S, f"took {took:.1f} s"
    for ws in clients:
        frames = recv_until(ws, has_status("upstream_connected"), timeout=2)
        # All a client notices of the change: one pair of statuses.
        assert [e["status"] for f in frames for e in statuses(f)] == ["upstream_disconnected", "upstream_connected"]
        streams(massive, ws, X1)
    assert role(new_leader) == "leader"
    no_eviction(massive)


class Proxy:
    """A TCP proxy to Redis that a test can cut: every connection through it dies at once."""

    def __init__(self, redis_url: str = TEST_REDIS_URL) -> None:
        self.redis = urlsplit(redis_url)
        self.target = (self.redis.hostname or "127.0.0.1", self.redis.port or 6379)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.sockets: list[socket.socket] = []
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        # The same Redis URL (password, database) with the proxy's address in place of Redis's.
        userinfo = self.redis.netloc.rpartition("@")[0]
        netloc = f"{userinfo}@127.0.0.1:{self.port}" if userinfo else f"127.0.0.1:{self.port}"
        return self.redis._replace(netloc=netloc).geturl()

    def _accept(self) -> None:
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            threading.Thread(target=self._pipe, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            return

    def cut(self) -> None:
        self.closed = True
        self.listener.close()
        for sock in self.sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()


def test_a_leader_cut_off_from_redis_stands_down_before_its_lease_expires(
    start_member: Callable[..., RelayProcess], massive: FakeMassive, redis_prefix: str
) -> None:
    proxy = Proxy()
    try:
        cut_off = start_member("cut-0", proxy.url)
        assert wait_leader([cut_off]) is cut_off
        others = [start_member(f"cut-{i}") for i in (1, 2)]
        clients = [client(r) for r in others]
        for ws in clients:
            subscribe(ws, f"Q.{X1}", expect_acks=1)
            streams(massive, ws, X1)
        first = massive.live("options")
        assert len(first) == 1
        lease = redis.Redis.from_url(REDIS_URL)
        proxy.cut()
        deadline = time.monotonic() + TAKEOVER_S
        while first[0].open and time.monotonic() < deadline:
            holder, ttl_ms = lease.get(f"{redis_prefix}:leader"), lease.pttl(f"{redis_prefix}:leader")
            time.sleep(0.01)
        assert not first[0].open, "the cut-off leader kept its upstream socket"
        # The last look before the socket closed: the lease was still the cut-off leader's, unexpired.
        assert isinstance(holder, bytes) and holder.decode().startswith("cut-0#") and ttl_ms > 0
        wait_leader(others, timeout=TAKEOVER_S)
        for ws in clients:
            streams(massive, ws, X1)
        assert requests.get(f"{cut_off.http}/api/ready", timeout=2).status_code == 503
        # A client of the cut-off instance is still answered, not dropped for want of Redis.
        stranded = client(cut_off)
        subscribe(stranded, f"Q.{X2}", expect_acks=1)
        stranded.send(json.dumps({"action": "ping"}))
        recv_until(stranded, has_status("pong"))
        no_eviction(massive)
    finally:
        proxy.cut()


def test_a_rolling_restart_loses_no_client_on_the_instances_still_up(
    start_member: Callable[..., RelayProcess], massive: FakeMassive
) -> None:
    relays = [start_member(f"roll-{i}") for i in range(3)]
    wait_leader(relays)
    clients: dict[int, ClientConnection] = {}
    for i, relay in enumerate(relays):
        clients[i] = client(relay)
        subscribe(clients[i], f"Q.{X1}", expect_acks=1)
    for ws in clients.values():
        streams(massive, ws, X1)
    for i in range(3):
        was_leader = role(relays[i]) == "leader"
        sockets_before = len(massive.relay_connections("options"))
        stopped = time.monotonic()
        relays[i].stop()
        if was_leader:
            # Handed over at SIGTERM: a follower connects at once, not after the lease's TTL.
            massive.wait_for(partial(new_socket, massive, sockets_before), timeout=2.5, what="the new leader's socket")
            assert time.monotonic() - stopped < 2.5
        try:
            clients[i].recv(timeout=2)
        except ConnectionClosed as closed:
            assert closed.rcvd is not None and closed.rcvd.code == 1001
        survivors = [j for j in range(3) if j != i]
        wait_leader([relays[j] for j in survivors])
        for j in survivors:
            streams(massive, clients[j], X1)
        relays[i] = start_member(f"roll-{i}b")
        clients[i] = client(relays[i])
        subscribe(clients[i], f"Q.{X1}", expect_acks=1)
        streams(massive, clients[i], X1)
    for ws in clients.values():
        streams(massive, ws, X1)
    no_eviction(massive)


def test_without_redis_a_relay_is_standalone_its_own_leader_and_ready(relay: RelayProcess) -> None:
    ws = client(relay)
    subscribe(ws, f"Q.{X1}", expect_acks=1)
    _, body = relay.health()
    assert body["role"] == "standalone" and body["leader"] == body["node"]
    assert body["clusterWide"]["instances"] == 1 and body["clusterWide"]["totalClients"] == 1
    assert body["clusterWide"]["activeSubscriptions"] == {"options": 1, "indices": 0}
    ready = requests.get(f"{relay.http}/api/ready", timeout=2)
    assert ready.status_code == 200 and ready.json()["ready"] is True
