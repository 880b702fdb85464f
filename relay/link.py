"""The upstream link of one cluster: a thin gevent + websocket-client driver of `UpstreamMachine`.

One greenlet owns the link: it connects, authenticates, sends subscription diffs and pings, and
closes. While connected a second greenlet only reads. The old socket is always shut down and
its reader gone before the next connect, so a cluster never has two sockets.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol

import gevent
import orjson
import websocket
from gevent.event import Event
from gevent.greenlet import Greenlet
from websocket import ABNF

from relay.core.channels import Cluster
from relay.core.frames import Status, status
from relay.core.health import ClusterCounters
from relay.core.hub import ClusterHub
from relay.core.ports import UpstreamSink
from relay.core.upstream import ConnectionBudget, LinkState, Step, UpstreamMachine

CONNECT_TIMEOUT_S = 10.0
FLUSH_TICK_S = 0.05
UPSTREAM_PING_S = 15.0
CLOSE_WAIT_S = 2.0
YIELD_EVERY_FRAMES = 8
# A leader standing down waits this long for Massive to answer its close, then cuts the socket.
HALT_CLOSE_WAIT_S = 0.3
GATE_RETRY_S = 0.5


class UpstreamError(Exception):
    """The upstream answered in a way that ends this connection attempt."""


class NewLink(Protocol):
    """Builds the link of one cluster (the node knows the URL, the key, the budget and the counters)."""

    def __call__(
        self, cluster: Cluster, hub: ClusterHub, sink: UpstreamSink, gate: Callable[[], bool] | None = None
    ) -> UpstreamLink: ...


class UpstreamLink:
    """Keeps zero or one socket to Massive for one cluster, as the machine decides."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        url: str,
        api_key: str,
        hub: ClusterHub,
        budget: ConnectionBudget,
        counters: ClusterCounters,
        sink: UpstreamSink,
        idle_close_s: float,
        silence_s: float,
        gate: Callable[[], bool] | None = None,
    ) -> None:
        self.cluster = cluster
        self.url = url
        self.machine = UpstreamMachine(cluster, idle_close_s=idle_close_s, silence_s=silence_s)
        self.socket_open = False
        self.waiting_for_capacity = False
        self._api_key = api_key
        self._hub = hub
        self._budget = budget
        self._counters = counters
        self._sink = sink
        self._wake = Event()
        self._greenlet: Greenlet | None = None
        self._end: tuple[str, str] | None = None
        # Asked before every connect: a cluster's leader checks its fencing token here.
        self._gate = gate
        self.log = logging.getLogger(f"relay.upstream.{cluster}")

    def start(self) -> None:
        self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        """Close the upstream socket with a close frame (1001), so Massive frees the slot for the next relay."""
        if self._greenlet is not None:
            if self.socket_open:
                self._end = ("shutdown", "relay shutting down")
            self._greenlet.kill(block=True, timeout=3.0)

    def halt(self) -> None:
        """Close the socket (a close handshake, briefly) and stop: this process no longer leads."""
        self._end = ("halt", "this relay stood down as leader")
        if self._greenlet is not None:
            self._greenlet.kill(block=True, timeout=HALT_CLOSE_WAIT_S + CLOSE_WAIT_S)
        self.socket_open = False

    def poke(self) -> None:
        """Something changed (subscriptions, a freed slot): reconsider now."""
        self._wake.set()

    def capacity_message(self) -> str:
        return (
            f"no upstream connection for {self.cluster}: MAX_WS_CONNECTIONS="
            f"{self._budget.limit} is used by other clusters"
        )

    def down_message(self) -> str:
        machine = self.machine
        wait = max(0.0, (machine.retry_at or time.monotonic()) - time.monotonic())
        if machine.state is LinkState.AUTH_FAILED:
            return f"Massive refused the relay's API key; retrying in {wait:.0f} s"
        if machine.state is LinkState.EVICTED:
            return f"another process uses the Massive key for {self.cluster}; retrying in {wait:.0f} s"
        return f"lost the upstream ({machine.last_error}); reconnecting in {wait:.1f} s"

    def _marker(self, message: str, *args: object, level: int = logging.INFO) -> None:
        self.log.log(
            level,
            f"[WS {self.cluster}] " + message,
            *args,
            extra={"cluster": str(self.cluster), "state": str(self.machine.state)},
        )

    # --- the owning greenlet -----------------------------------------------------------------

    def _run(self) -> None:
        while True:
            try:
                self._step()
            except gevent.GreenletExit:
                raise
            except Exception:
                self._marker("link error", level=logging.ERROR)
                self.log.exception("upstream link failed")
                gevent.sleep(1.0)

    def _step(self) -> None:
        decision = self.machine.decide(time.monotonic(), self._hub.has_channels())
        if decision.step is not Step.CONNECT:
            # Not trying to connect (no channel held, or backing off) is not waiting for a slot.
            self.waiting_for_capacity = False
            self._wait(decision.wait_s)
            return
        if not self._budget.acquire(self.cluster):
            if not self.waiting_for_capacity:
                self.waiting_for_capacity = True
                self._marker("no socket slot: MAX_WS_CONNECTIONS=%s reached", self._budget.limit,
                             level=logging.WARNING)
                self._sink.broadcast(self.cluster, status(Status.ERROR, self.capacity_message()))
            self._wait(None)
            return
        self.waiting_for_capacity = False
        if self._gate is not None and not self._gate():
            self._budget.release(self.cluster)
            self._wait(GATE_RETRY_S)
            return
        try:
            self._connection()
        finally:
            self.socket_open = False
            self._budget.release(self.cluster)
            self._sink.wake_links()

    def _wait(self, seconds: float | None) -> None:
        self._wake.wait(timeout=seconds)
        self._wake.clear()

    def _connection(self) -> None:
        machine = self.machine
        machine.connecting(time.monotonic())
        self._marker("connecting to %s", self.url)
        ws = websocket.WebSocket(enable_multithread=True, skip_utf8_validation=True)
        self._end = None
        reader: Greenlet | None = None
        try:
            ws.connect(self.url, timeout=CONNECT_TIMEOUT_S)
            self.socket_open = True
            machine.authenticating(time.monotonic())
            self._marker("authenticating")
            self._authenticate(ws)
            machine.connected(time.monotonic())
            self._counters.last_connected_at = time.time()
            self._hub.upstream_reset()
            self._marker("connected")
            self._sink.broadcast(
                self.cluster,
                status(Status.UPSTREAM_CONNECTED, f"connected to {self._sink.upstream_name(self.cluster)}"),
            )
            ws.settimeout(machine.silence_s)
            reader = gevent.spawn(self._read_loop, ws)
            self._serve(ws, reader)
        except gevent.GreenletExit:
            raise
        except (UpstreamError, websocket.WebSocketException, OSError) as error:
            if self._end is None:
                self._end = ("drop", _describe(error))
        except Exception as error:
            # Anything else (a frame that is not JSON, a bad URL) still ends this attempt through
            # `_after`, so the machine never stays in connecting/authenticating with no socket.
            self.log.exception("upstream connection failed")
            if self._end is None:
                self._end = ("drop", _describe(error))
        finally:
            self._close(ws, reader)
            # The socket is gone and its subscriptions with it: what is held is pending again.
            self._hub.upstream_reset()
        self._after(self._end or ("drop", "connection ended"))

    def _authenticate(self, ws: websocket.WebSocket) -> None:
        """Wait for the greeting, send the key, and wait for Massive's verdict."""
        ws.settimeout(CONNECT_TIMEOUT_S)
        self._await_status(ws, {"connected", "success"})
        ws.send(orjson.dumps({"action": "auth", "params": self._api_key}).decode())
        verdict = self._await_status(ws, {"auth_success", "auth_failed", "auth_timeout"})
        if verdict["status"] != "auth_success":
            message = str(verdict.get("message") or verdict["status"])
            self._end = ("auth_failed", message)
            raise UpstreamError(message)

    def _await_status(self, ws: websocket.WebSocket, wanted: set[str]) -> dict[str, Any]:
        deadline = time.monotonic() + CONNECT_TIMEOUT_S
        while time.monotonic() < deadline:
            opcode, frame = ws.recv_data_frame(control_frame=True)
            self.machine.heard(time.monotonic())
            if opcode == ABNF.OPCODE_CLOSE:
                raise UpstreamError("closed during authentication")
            if opcode not in (ABNF.OPCODE_TEXT, ABNF.OPCODE_BINARY):
                continue
            events = orjson.loads(frame.data)
            for event in events if isinstance(events, list) else [events]:
                if isinstance(event, dict) and event.get("ev") == "status":
                    kind = event.get("status")
                    if kind == "max_connections":
                        self._end = ("evicted", str(event.get("message") or kind))
                        raise UpstreamError("evicted")
                    if kind in wanted:
                        return event
        raise UpstreamError("no answer from the upstream while authenticating")

    def _serve(self, ws: websocket.WebSocket, reader: Greenlet) -> None:
        """While connected: flush subscription diffs, ping, and watch idleness and silence."""
        machine = self.machine
        next_ping = time.monotonic() + UPSTREAM_PING_S
        while not reader.dead:
            if self._hub.has_pending():
                gevent.sleep(FLUSH_TICK_S)
                self._flush(ws)
            now = time.monotonic()
            decision = machine.decide(now, self._hub.has_channels())
            if decision.step is Step.CLOSE_IDLE:
                self._end = ("idle", "no channels held")
                return
            if decision.step is Step.DROP_SILENT:
                self._end = ("drop", f"nothing from the upstream for {machine.silence_s:g} s")
                return
            if now >= next_ping:
                ws.ping()
                next_ping = now + UPSTREAM_PING_S
            timeout = min(decision.wait_s if decision.wait_s is not None else UPSTREAM_PING_S, next_ping - now)
            self._wait(max(0.0, timeout))

    def _flush(self, ws: websocket.WebSocket) -> None:
        diff = self._hub.take_upstream_diff()
        if diff.unsubscribe:
            ws.send(orjson.dumps({"action": "unsubscribe", "params": ",".join(diff.unsubscribe)}).decode())
        if diff.subscribe:
            ws.send(orjson.dumps({"action": "subscribe", "params": ",".join(diff.subscribe)}).decode())
        if diff:
            self._marker("subscription diff: +%s -%s", len(diff.subscribe), len(diff.unsubscribe),
                         level=logging.DEBUG)

    def _read_loop(self, ws: websocket.WebSocket) -> None:
        frames = 0
        try:
            while True:
                opcode, frame = ws.recv_data_frame(control_frame=True)
                frames += 1
                if frames % YIELD_EVERY_FRAMES == 0:
                    # Buffered frames are read without blocking: let clients and health checks in.
                    gevent.sleep(0)
                self.machine.heard(time.monotonic())
                if opcode in (ABNF.OPCODE_TEXT, ABNF.OPCODE_BINARY):
                    if self._on_frame(frame.data):
                        return
                elif opcode == ABNF.OPCODE_CLOSE:
                    if self._end is None:
                        self._end = ("drop", f"upstream closed the connection {_close_code(frame.data)}")
                    return
        except (websocket.WebSocketException, OSError) as error:
            if self._end is None:
                self._end = ("drop", _describe(error))
        finally:
            self._wake.set()

    def _on_frame(self, data: bytes) -> bool:
        """Route one data frame; True when a status in it ends the connection."""
        self._counters.messages_in += 1
        self._counters.last_message_at = time.time()
        routed = self._hub.route(data)
        if routed.deliveries:
            self._sink.deliver(self.cluster, routed)
        for event in routed.statuses:
            kind = event.get("status")
            message = str(event.get("message") or kind)
            if kind == "max_connections":
                self._end = ("evicted", message)
                return True
            if kind in ("force_disconnect", "slow_consumer"):
                self._end = ("drop", f"{kind}: {message}")
                return True
            if kind in ("error", "auth_required"):
                self._marker("upstream %s status: %s", kind, message, level=logging.WARNING)
                self._counters.upstream_errors += 1
                self.machine.refused(f"{kind}: {message}"[:200])
                self._sink.upstream_refused(self.cluster, message)
        return False

    def _close(self, ws: websocket.WebSocket, reader: Greenlet | None) -> None:
        """Close the socket; returns only once no greenlet uses it any more."""
        ending = self._end[0] if self._end is not None else None
        if ending in ("idle", "halt", "shutdown") and reader is not None and not reader.dead:
            with contextlib.suppress(websocket.WebSocketException, OSError):
                if ending == "shutdown":
                    ws.send_close(status=websocket.STATUS_GOING_AWAY, reason=b"relay shutting down")
                else:
                    ws.send_close(reason=ending.encode())
            reader.join(timeout=HALT_CLOSE_WAIT_S if ending == "halt" else CLOSE_WAIT_S)
        ws.abort()
        if reader is not None:
            reader.join(timeout=CLOSE_WAIT_S)
            if not reader.dead:
                reader.kill(block=True, timeout=1.0)
        ws.shutdown()

    def _after(self, end: tuple[str, str]) -> None:
        kind, message = end
        now = time.monotonic()
        machine = self.machine
        was_connected = machine.state is LinkState.CONNECTED
        if kind == "idle":
            machine.closed_idle()
            self._marker("closed: idle for %ss", machine.idle_close_s)
            return
        if kind == "auth_failed":
            delay = machine.auth_failed(message, now)
            self._marker("auth_failed: %s; retrying in %.0f s", message, delay, level=logging.ERROR)
        elif kind == "evicted":
            delay = machine.evicted(message, now)
            self._marker(
                "evicted (max_connections): another process uses the key; backing off %.0f s",
                delay,
                level=logging.ERROR,
            )
        else:
            delay = machine.dropped(message, now)
            self._marker(
                "disconnected: %s; reconnect attempt %s in %.2f s",
                message,
                machine.reconnect_attempts,
                delay,
                level=logging.WARNING,
            )
        if was_connected or kind != "drop" or machine.reconnect_attempts == 1:
            self._sink.broadcast(self.cluster, status(Status.UPSTREAM_DISCONNECTED, self.down_message()))


def _close_code(data: bytes) -> str:
    if len(data) >= 2:
        return f"(code {int.from_bytes(data[:2], 'big')})"
    return "(no code)"


def _describe(error: BaseException) -> str:
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text}"[:200]
