"""A fake Massive WebSocket server on 127.0.0.1, written from the team's reference (docs/reference/massive.md).

Like Massive it greets with `connected`, answers `auth` with `auth_success` (or `auth_failed`
for an unknown key, then closes), acks subscribe/unsubscribe per channel, sends only events of
channels the connection subscribed (`EV.SYMBOL` or `EV.*`; index values by their `T`), and
lets a second connection on a key in before closing the older one of that cluster with a
`max_connections` status and close code 1008. Tests can drop connections abruptly (no close
frame), refuse channels the way a plan without the entitlement would (the refused ones in one
`error` status, `not authorized for: A,B`, and never subscribed), answer a connection with a frame
that is not JSON instead of the greeting, and read what the server saw:
every client frame, and the most sockets open at once per cluster and in all, over the server's
whole life.

Connections whose path carries `?peer=1` stand for "another process" using the key: they evict
like any other but are not counted as the relay's.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

CLUSTERS = ("options", "indices")
REFUSED_PREFIX = "not authorized for: "
MAX_CONNECTIONS_MESSAGE = (
    "Maximum number of websocket connections exceeded. You have reached the connection limit for your account."
)


def _status(status: str, message: str) -> str:
    return json.dumps([{"ev": "status", "status": status, "message": message}])


def event_channel(cluster: str, event: dict[str, Any]) -> str:
    """The channel an event belongs to, as Massive names it."""
    symbol = event.get("T") if cluster == "indices" and event.get("ev") == "V" else event.get("sym")
    return f"{event.get('ev')}.{symbol}"


@dataclass
class FakeConnection:
    """One socket the server accepted."""

    id: int
    cluster: str
    peer: bool
    ws: ServerConnection
    opened_at: float
    key: str | None = None
    authenticated: bool = False
    subscriptions: set[str] = field(default_factory=set)
    received: list[dict[str, Any]] = field(default_factory=list)
    closed_at: float | None = None
    evicted: bool = False
    # The close code the relay sent (1006: the socket ended without a close frame).
    close_code: int | None = None

    @property
    def open(self) -> bool:
        return self.closed_at is None

    def wants(self, event: dict[str, Any]) -> bool:
        channel = event_channel(self.cluster, event)
        return channel in self.subscriptions or f"{event.get('ev')}.*" in self.subscriptions


class FakeMassive:
    """The fake server; `start()` returns `ws://127.0.0.1:<port>` (the relay appends the cluster)."""

    def __init__(self, api_key: str = "test-massive-key") -> None:
        self.api_key = api_key
        self.reject_keys = False
        self.silent = False
        self.refused: set[str] = set()
        # The next this many relay connections get a frame that is not JSON instead of a greeting.
        self.garbled_greetings = 0
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.connections: list[FakeConnection] = []
        self.peak_per_cluster: dict[str, int] = dict.fromkeys(CLUSTERS, 0)
        self.peak_total = 0
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # --- life --------------------------------------------------------------------------------

    def start(self) -> str:
        self._server = serve(self._handle, "127.0.0.1", 0, compression=None, max_size=2**20)
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-massive", daemon=True)
        self._thread.start()
        return self.url

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"ws://127.0.0.1:{self._server.socket.getsockname()[1]}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def reset(self) -> None:
        """Forget per-test behaviour and close every socket (peaks are kept for the whole run)."""
        self.reject_keys = False
        self.silent = False
        self.refused = set()
        self.garbled_greetings = 0
        for connection in self.live():
            self._abort(connection)
        with self._lock:
            self.connections = []

    # --- observation -------------------------------------------------------------------------

    def live(self, cluster: str | None = None, *, include_peers: bool = False) -> list[FakeConnection]:
        with self._lock:
            return [
                c for c in self.connections
                if c.open and (cluster is None or c.cluster == cluster) and (include_peers or not c.peer)
            ]

    def relay_connections(self, cluster: str) -> list[FakeConnection]:
        """Every connection (open or closed) the relay made to `cluster` since the last reset."""
        with self._lock:
            return [c for c in self.connections if c.cluster == cluster and not c.peer]

    def frames(self, cluster: str, action: str | None = None) -> list[dict[str, Any]]:
        """Frames the relay sent on `cluster`, oldest first, across its connections."""
        return [
            frame
            for connection in self.relay_connections(cluster)
            for frame in connection.received
            if action is None or frame.get("action") == action
        ]

    def most_open_at_once(self, cluster: str | None = None) -> int:
        """The most relay sockets (of `cluster`, or in all) open at one time since the last reset."""
        with self._lock:
            mine = [c for c in self.connections if not c.peer and (cluster is None or c.cluster == cluster)]
            changes = sorted([(c.opened_at, 1) for c in mine] + [(c.closed_at, -1) for c in mine if c.closed_at])
        peak = current = 0
        for _, step in changes:
            current += step
            peak = max(peak, current)
        return peak

    def subscriptions(self, cluster: str) -> set[str]:
        live = self.live(cluster)
        return set(live[0].subscriptions) if live else set()

    def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition") -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.02)
        raise AssertionError(f"fake Massive: timed out waiting for {what}")

    # --- control -------------------------------------------------------------------------------

    def emit(self, cluster: str, events: Iterable[dict[str, Any]]) -> int:
        """Send `events` to every authenticated connection of `cluster`, each only what it subscribed.

        Returns how many connections got a frame.
        """
        batch = list(events)
        sent = 0
        for connection in self.live(cluster, include_peers=True):
            if not connection.authenticated:
                continue
            chosen = [event for event in batch if connection.wants(event)]
            if not chosen:
                continue
            try:
                connection.ws.send(json.dumps(chosen))
                sent += 1
            except (ConnectionClosed, OSError):
                continue
        return sent

    def send_raw(self, cluster: str, text: str) -> None:
        for connection in self.live(cluster):
            connection.ws.send(text)

    def drop(self, cluster: str) -> int:
        """Cut the relay's connections of `cluster` abruptly: no close frame, just a dead TCP socket."""
        live = self.live(cluster)
        for connection in live:
            self._abort(connection)
        return len(live)

    def _abort(self, connection: FakeConnection) -> None:
        with contextlib.suppress(OSError):
            connection.ws.socket.shutdown(socket.SHUT_RDWR)

    # --- the protocol ----------------------------------------------------------------------------

    def _handle(self, ws: ServerConnection) -> None:
        assert ws.request is not None
        url = urlsplit(ws.request.path)
        cluster = url.path.strip("/")
        if cluster not in CLUSTERS:
            ws.close(1008, "unknown cluster")
            return
        peer = parse_qs(url.query).get("peer") == ["1"]
        connection = FakeConnection(next(self._ids), cluster, peer, ws, time.monotonic())
        with self._lock:
            self.connections.append(connection)
            if not peer:
                mine = [c for c in self.connections if c.open and not c.peer]
                in_cluster = sum(1 for c in mine if c.cluster == cluster)
                self.peak_per_cluster[cluster] = max(self.peak_per_cluster[cluster], in_cluster)
                self.peak_total = max(self.peak_total, len(mine))
        with self._lock:
            garbled = not peer and self.garbled_greetings > 0
            if garbled:
                self.garbled_greetings -= 1
        try:
            if garbled:
                ws.send("<html>502 Bad Gateway</html>")
                return
            ws.send(_status("connected", "Connected Successfully"))
            for message in ws:
                self._on_message(connection, message)
        except (ConnectionClosed, OSError):
            pass
        finally:
            with self._lock:
                connection.closed_at = time.monotonic()
                connection.close_code = ws.close_code

    def _on_message(self, connection: FakeConnection, message: str | bytes) -> None:
        try:
            frame = json.loads(message)
        except json.JSONDecodeError:
            connection.ws.send(_status("error", "invalid JSON"))
            return
        connection.received.append(frame)
        action = frame.get("action")
        params = str(frame.get("params", ""))
        if action == "auth":
            if self.reject_keys or params != self.api_key:
                connection.ws.send(_status("auth_failed", "authentication failed"))
                connection.ws.close(1008, "authentication failed")
                return
            connection.key = params
            connection.authenticated = True
            connection.ws.send(_status("auth_success", "authenticated"))
            self._evict_older(connection)
            return
        if not connection.authenticated:
            connection.ws.send(_status("auth_required", "authentication required"))
            return
        names = [name for name in params.split(",") if name]
        refused: list[str] = []
        if action == "subscribe":
            refused = [name for name in names if name in self.refused]
            names = [name for name in names if name not in self.refused]
            connection.subscriptions.update(names)
            verb = "subscribed to"
        elif action == "unsubscribe":
            connection.subscriptions.difference_update(names)
            verb = "unsubscribed to"
        else:
            connection.ws.send(_status("error", f"unknown action {action!r}"))
            return
        if self.silent:
            return
        if names or not refused:
            connection.ws.send(
                json.dumps([{"ev": "status", "status": "success", "message": f"{verb}: {n}"} for n in names])
            )
        if refused:
            connection.ws.send(_status("error", REFUSED_PREFIX + ",".join(refused)))

    def _evict_older(self, newcomer: FakeConnection) -> None:
        """Massive's one-connection-per-cluster rule: the newest stays, older ones are closed."""
        with self._lock:
            older = [
                c for c in self.connections
                if c is not newcomer and c.open and c.authenticated and c.cluster == newcomer.cluster
                and c.key == newcomer.key
            ]
        for connection in older:
            connection.evicted = True
            try:
                connection.ws.send(_status("max_connections", MAX_CONNECTIONS_MESSAGE))
                connection.ws.close(1008, "max_connections")
            except (ConnectionClosed, OSError):
                pass
