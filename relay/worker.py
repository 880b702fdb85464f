"""gunicorn's gevent-websocket worker, with admission checked before the upgrade."""

from __future__ import annotations

from typing import Any

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
    """`GeventWebSocketWorker` with `RelayHandler`."""

    wsgi_handler = RelayHandler
