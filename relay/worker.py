"""gunicorn's gevent-websocket worker, with admission checked before the upgrade and a header deadline.

Every accepted connection holds one of gunicorn's `worker_connections` until its handler ends, and
pywsgi waits for a request's line and headers without any time limit. So a request's head must
arrive within `HEADER_DEADLINE_S` (keep-alive waits for the next request included), and at most
`MAX_HANDSHAKES` connections may be waiting for theirs: a newcomer past that turns out the oldest.
A client sending its whole request at once is never the one waiting, so half-open sockets can
neither exhaust the connections the worker accepts nor keep an admin from connecting.
"""

from __future__ import annotations

import itertools
import logging
import socket
from types import FrameType
from typing import Any

import gevent
from gevent.pywsgi import WSGIHandler
from geventwebsocket.gunicorn.workers import GeventWebSocketWorker
from geventwebsocket.handler import WebSocketHandler

from relay.core.waiting import MAX_HANDSHAKES, WaitingRoom

log = logging.getLogger("relay.worker")

HEADER_DEADLINE_S = 5.0
_ids = itertools.count(1)


def is_upgrade(environ: dict[str, Any]) -> bool:
    return str(environ.get("HTTP_UPGRADE", "")).lower() == "websocket"


def handshake_room(server: Any) -> WaitingRoom[RelayHandler]:
    """The connections of `server` waiting for their request head (one room per server)."""
    room: WaitingRoom[RelayHandler] | None = getattr(server, "relay_handshakes", None)
    if room is None:
        room = WaitingRoom(MAX_HANDSHAKES)
        server.relay_handshakes = room
    return room


class RelayHandler(WebSocketHandler):
    """Bounds the wait for a request head, and asks the application whether to refuse a handshake."""

    _head_id: int | None = None
    _head_timer: Any = None
    _cut = False

    def handle(self) -> None:
        try:
            super().handle()
        except OSError:
            # The peer went away, or we shut its socket down (deadline, turned out): nothing to answer.
            return
        finally:
            self._head_arrived()

    def read_requestline(self) -> str:
        self._await_head()
        line: str = super().read_requestline()
        return line

    def read_request(self, raw_requestline: str) -> Any:
        try:
            parsed = super().read_request(raw_requestline)
        finally:
            self._head_arrived()
        # A head cut short by the deadline may still parse (EOF ends the headers): never serve it.
        return parsed and not self._cut

    def handle_one_request(self) -> Any:
        try:
            return super().handle_one_request()
        finally:
            self._head_arrived()

    def _await_head(self) -> None:
        self._head_arrived()
        self._head_id = next(_ids)
        for oldest in handshake_room(self.server).enter(self._head_id, self):
            oldest._give_up("turned out: too many connections waiting for their request")
        timer = gevent.get_hub().loop.timer(HEADER_DEADLINE_S)
        timer.start(self._give_up, f"no request head within {HEADER_DEADLINE_S:g} s")
        self._head_timer = timer

    def _head_arrived(self) -> None:
        if self._head_timer is not None:
            self._head_timer.close()
            self._head_timer = None
        if self._head_id is not None:
            handshake_room(self.server).leave(self._head_id)
            self._head_id = None

    def _give_up(self, why: str) -> None:
        """Cut a connection still waiting for its request head; its handler then ends on its own."""
        self._head_arrived()
        self._cut = True
        log.debug("[ConnectionPool] connection closed: %s", why, extra={"remote": str(self.client_address)})
        sock = getattr(self, "socket", None)
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                return

    def run_application(self) -> Any:
        refuse = getattr(self.application, "refuse_upgrade", None)
        if refuse is not None and is_upgrade(self.environ) and refuse(self.environ):
            # Served as plain HTTP: the application renders the refusal (401, 403, 404).
            return WSGIHandler.run_application(self)
        return super().run_application()

    def log_request(self) -> None:
        # The relay logs its own markers; one line per upgrade or health probe is noise.
        return None


class RelayWorker(GeventWebSocketWorker):
    """`GeventWebSocketWorker` with `RelayHandler`, closing clients (1001) as soon as it is told to stop."""

    wsgi_handler = RelayHandler

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # Without this, open WebSockets would hold the worker for the whole graceful timeout.
        shutdown = getattr(getattr(self, "wsgi", None), "shutdown", None)
        if shutdown is not None:
            gevent.spawn(shutdown)
        super().handle_exit(sig, frame)
