"""One client's WebSocket session: the reader (its own greenlet), a sender greenlet, a bounded queue.

Only the sender writes to the socket, so a client that stops reading blocks nobody but its own
sender; the queue in front of it is bounded in bytes. A socket whose send failed is never
written again, and it is only ever shut down, never closed, while a greenlet may wait on it:
the server closes it once both greenlets are gone.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from functools import partial
from typing import TypeAlias

import gevent
import gevent.socket
from gevent.event import Event
from gevent.greenlet import Greenlet

from relay.admission import Principal
from relay.core.channels import Cluster
from relay.core.frames import FrameError, Status, StatusEvent, parse_client_frame, status, status_frame
from relay.core.hub import Delivery
from relay.core.liveness import Liveness
from relay.core.outbound import OutboundQueue
from relay.core.ports import SessionHost
from relay.core.ratelimit import FRAMES_PER_SECOND, TOLERATED_FRAMES_PER_SECOND, Admission, FrameRate
from relay.core.wire import (
    MAX_MESSAGE_BYTES,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    ConnectionGone,
    Message,
    MessageAssembler,
    WireError,
    close_frame,
    encode_frame,
    read_frame,
)
from shared.auth import AuthError

log = logging.getLogger("relay.client")

CLOSE_GRACE_S = 5.0
# Kernel send buffers count against a lagging client too: cap them instead of letting Linux
# autotune each one up to megabytes, so the 1 MB queue limit is what bounds a client.
SEND_BUFFER_BYTES = 256 * 1024
CLOSE_SLOW_CONSUMER = 4008
CLOSE_NO_PONG = 4012
CLOSE_POLICY = 1008
CLOSE_TRY_AGAIN_LATER = 1013
# Frames already buffered are read without blocking, so without this a client that floods
# (even with empty pongs) would hold the event loop until its buffer ran dry.
YIELD_EVERY_FRAMES = 8
# A sender that fell behind writes its queued frames together, up to this many bytes a write.
COALESCE_BYTES = 64 * 1024

Host: TypeAlias = "SessionHost[ClientSession, Principal]"


class ClientSession:
    """A connected client of one cluster."""

    def __init__(
        self,
        sid: int,
        cluster: Cluster,
        sock: socket.socket,
        read: Callable[[int], bytes],
        host: Host,
        principal: Principal | None,
        remote: str,
    ) -> None:
        self.sid = sid
        self.cluster = cluster
        self.principal = principal
        self.remote = remote
        self.queue = OutboundQueue()
        now = time.monotonic()
        self.rate = FrameRate(now=now)
        self.liveness = Liveness(
            opened_at=now,
            ping_interval_s=host.ping_interval_s,
            pong_timeout_s=host.pong_timeout_s,
        )
        if principal is not None:
            self.liveness.authenticate(principal.expires_at)
        self._sock = sock
        # gevent's send with timeout 0 never waits: EAGAIN raises instead (any other socket: no fast path).
        self._send_now: Callable[[bytes], int] | None = (
            partial(sock.send, timeout=0.0) if isinstance(sock, gevent.socket.socket) else None
        )
        self._sender_busy = False
        self._partial: bytes | None = None
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, SEND_BUFFER_BYTES)
        self._read = read
        self._host = host
        self._control: deque[bytes] = deque()
        self._pong: bytes | None = None
        self._ready = Event()
        self._closing: tuple[int, str] | None = None
        self._peer_gone = False
        self._sender: Greenlet | None = None
        self._abort_timer: Greenlet | None = None
        self._last_rate_error = 0.0

    @property
    def closing(self) -> bool:
        return self._closing is not None

    # --- the reader ------------------------------------------------------------------------

    def run(self) -> None:
        """Serve the session until the client leaves or is closed (runs in the handler greenlet).

        A client that authenticated in its handshake takes a client slot at once; one that has not
        waits among the unauthenticated (their own bound, 5 s) and takes a slot only once it has.
        """
        if self.principal is not None and not self._host.register(self):
            self._write_directly(close_frame(CLOSE_TRY_AGAIN_LATER, "server full"))
            return
        self._sender = gevent.spawn(self._send_loop)
        if self.principal is None:
            self._host.await_auth(self)
        self.send(status(Status.CONNECTED, self._host.greeting))
        assembler = MessageAssembler(MAX_MESSAGE_BYTES)
        frames = 0
        try:
            while not self.closing:
                frame = read_frame(self._read)
                frames += 1
                if frames % YIELD_EVERY_FRAMES == 0 or frame.oversized:
                    # A discarded oversized frame was up to 1 MB read in one go: yield after each.
                    gevent.sleep(0)
                self.liveness.answered()
                if frame.opcode == OP_CLOSE:
                    code = struct.unpack("!H", frame.payload[:2])[0] if len(frame.payload) >= 2 else 1000
                    self.close(code if code in (1000, 1001) else 1000, "")
                    break
                admission = self.rate.admit(time.monotonic())
                if admission is Admission.CLOSE:
                    log.warning(
                        "[ConnectionPool] client %s closed: over %s frames a second",
                        self.sid,
                        TOLERATED_FRAMES_PER_SECOND,
                        extra={"cluster": str(self.cluster), "remote": self.remote},
                    )
                    self.close(CLOSE_POLICY, "rate limit exceeded")
                    break
                if frame.opcode == OP_PING:
                    if admission is Admission.SERVE:
                        self._answer_ping(frame.payload)
                    continue
                if frame.opcode == OP_PONG:
                    continue
                message = assembler.feed(frame)
                if message is None or self.closing:
                    continue
                if admission is Admission.SERVE:
                    self._on_message(message)
                else:
                    self._rate_exceeded()
        except WireError as error:
            self.close(error.code, error.reason)
        except (ConnectionGone, OSError):
            self._peer_gone = True
        finally:
            self._finish()

    def _rate_exceeded(self) -> None:
        now = time.monotonic()
        if now - self._last_rate_error >= 1.0:
            self._last_rate_error = now
            self.send_error(f"more than {FRAMES_PER_SECOND} frames a second: frames dropped")

    def _on_message(self, message: Message) -> None:
        if message.oversized:
            self.send_error(f"frame of {message.oversized} bytes is over the {MAX_MESSAGE_BYTES} byte limit")
            return
        try:
            frame = parse_client_frame(message.payload)
        except FrameError as error:
            self.send_error(str(error))
            return
        if frame.action == "ping":
            self.send(status(Status.PONG))
        elif frame.action == "auth":
            self._authenticate(frame.params)
        elif not self.liveness.authenticated:
            self.send_error('authenticate first: {"action":"auth","params":"<token>"}')
        elif frame.params is None or frame.params == "" or frame.params == []:
            self.send_error(f"params: {frame.action} needs channels, e.g. Q.O:SPY251219C00650000")
        elif frame.action == "subscribe":
            self.send(*self._host.subscribe(self, frame.params))
        else:
            self.send(*self._host.unsubscribe(self, frame.params))

    def _authenticate(self, params: str | list[str] | None) -> None:
        token = params if isinstance(params, str) else ""
        try:
            principal = self._host.gatekeeper.authenticate(token)
        except AuthError as error:
            log.info(
                "[ConnectionPool] client %s refused: %s",
                self.sid,
                error.reason,
                extra={"cluster": str(self.cluster), "reason": error.reason},
            )
            self.send(status(Status.AUTH_FAILED, error.message))
            self.close(CLOSE_POLICY, "unauthorized")
            return
        was_authenticated = self.liveness.authenticated
        if not was_authenticated and not self._host.register(self):
            self.close(CLOSE_TRY_AGAIN_LATER, "server full")
            return
        self.principal = principal
        self.liveness.authenticate(principal.expires_at)
        self.send(status(Status.AUTH_SUCCESS, "authenticated"))
        if not was_authenticated:
            self._host.authenticated(self)

    # --- writing ---------------------------------------------------------------------------

    def send(self, *events: StatusEvent) -> None:
        """Queue status events as one frame."""
        if self.closing or not events:
            return
        if not self.queue.push_frame(status_frame(*events)):
            self._host.slow_consumer(self)
            return
        self._ready.set()

    def send_error(self, message: str) -> None:
        self.send(status(Status.ERROR, message))

    def push(self, delivery: Delivery) -> int:
        """Send or queue routed events; returns how many queued events they replaced (conflation).

        With nothing waiting for this client the frame is written at once, without blocking and
        without waking the sender: one syscall, no greenlet switch.
        """
        if self.closing:
            return 0
        if self._can_write_now():
            self._write_now(encode_frame(OP_TEXT, delivery.payload))
            return 0
        outcome = self.queue.push(delivery)
        if outcome.overflow:
            self._host.slow_consumer(self)
            return outcome.conflated
        if outcome.started_conflating:
            self.queue.push_frame(
                status_frame(
                    status(
                        Status.SLOW_CONSUMER,
                        "you are falling behind: quotes and index values are conflated to the latest",
                    )
                )
            )
        self._ready.set()
        return outcome.conflated

    def ping(self, now: float) -> None:
        self.liveness.pinged(now)
        self._queue_control(encode_frame(OP_PING, struct.pack("!d", now)))

    def _answer_ping(self, payload: bytes) -> None:
        """Queue a pong; one not yet sent is replaced (RFC 6455 allows it), so pings cannot pile up."""
        if not self.closing:
            self._pong = encode_frame(OP_PONG, payload)
            self._ready.set()

    def _queue_control(self, frame: bytes) -> None:
        if not self.closing:
            self._control.append(frame)
            self._ready.set()

    def close(self, code: int, reason: str) -> None:
        """Close with `code` and `reason` after what is queued; forced after a grace period."""
        if self._closing is not None:
            return
        self._closing = (code, reason)
        self._host.unregister(self)
        self._ready.set()
        self._abort_timer = gevent.spawn_later(CLOSE_GRACE_S, self._abort)

    def drop_queue(self) -> None:
        """Free everything queued (a slow consumer about to be closed)."""
        self.queue.clear()

    def _can_write_now(self) -> bool:
        """Whether a frame may skip the queue: the sender is idle and nothing else waits."""
        return (
            self._send_now is not None
            and not self._sender_busy
            and self._partial is None
            and self._pong is None
            and not self._control
            and not self._peer_gone
            and not len(self.queue)
        )

    def _write_now(self, data: bytes) -> None:
        """Write what the socket takes without blocking; the rest goes to the sender, first in line."""
        send_now = self._send_now
        if send_now is None:
            return
        try:
            sent = send_now(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            self._lost()
            return
        if sent < len(data):
            self._partial = data[sent:]
            self._ready.set()

    def _lost(self) -> None:
        """The socket is gone: never write to it again; wake the reader so the session ends."""
        self._peer_gone = True
        self._partial = None
        self.queue.clear()
        self._shutdown()

    def _next_write(self) -> bytes | None:
        """The bytes to write next, queued frames coalesced into one write; None when nothing waits."""
        if self._partial is not None:
            data, self._partial = self._partial, None
            return data
        if self._control:
            return self._control.popleft()
        if self._pong is not None:
            data, self._pong = self._pong, None
            return data
        frame = self.queue.pop()
        if frame is None:
            return None
        parts = [encode_frame(OP_TEXT, frame)]
        size = len(parts[0])
        while size < COALESCE_BYTES:
            frame = self.queue.pop()
            if frame is None:
                break
            parts.append(encode_frame(OP_TEXT, frame))
            size += len(parts[-1])
        return b"".join(parts)

    def _send_loop(self) -> None:
        sock = self._sock
        try:
            while True:
                self._sender_busy = False
                self._ready.wait()
                self._ready.clear()
                self._sender_busy = True
                while True:
                    data = self._next_write()
                    if data is None:
                        if self._closing is not None:
                            if not self._peer_gone:
                                sock.sendall(close_frame(*self._closing))
                                sock.shutdown(socket.SHUT_WR)
                            return
                        break
                    sock.sendall(data)
        except OSError:
            self._lost()

    def _write_directly(self, data: bytes) -> None:
        """Write from the handler greenlet before any sender exists (refusing a client)."""
        try:
            with gevent.Timeout(2.0):
                self._sock.sendall(data)
                self._sock.shutdown(socket.SHUT_WR)
        except (OSError, gevent.Timeout):
            return

    def _abort(self) -> None:
        """The close did not finish in time: stop the sender and cut the connection."""
        if self._sender is not None and not self._sender.dead:
            self._sender.kill(block=True, timeout=1.0)
        self._shutdown()

    def _shutdown(self) -> None:
        try:
            self._sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            return

    def _finish(self) -> None:
        self._host.unregister(self)
        if self._closing is None:
            self._closing = (1000, "")
        self._ready.set()
        if self._sender is not None:
            self._sender.join(timeout=CLOSE_GRACE_S)
            if not self._sender.dead:
                self._sender.kill(block=True, timeout=1.0)
        if self._abort_timer is not None:
            self._abort_timer.kill(block=False)
        self._shutdown()
