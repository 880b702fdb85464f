"""gunicorn's gevent-websocket worker, with admission checked before the upgrade."""

from __future__ import annotations

from types import FrameType
from typing import Any

import gevent
from gevent.pywsgi import WSGIHandler
from geventwebsocket.gunicorn.workers import GeventWebSocketWorker
from geventwebsocket.handler import WebSocketHandler


def is_upgrade(environ: dict[str, Any]) -> bool:
    return str(environ.get("HTTP_UPGRADE", "")).lower() == "websocket"


class RelayHandler(WebSocketHandler):
    """Asks the application whether to refuse a handshake before switching protocols."""

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
