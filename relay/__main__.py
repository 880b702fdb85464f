"""`python -m relay`: the relay under gunicorn, one gevent-websocket worker, on RELAY_PORT/PORT/8080."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from gunicorn.app.base import BaseApplication

from relay.core.waiting import MAX_HANDSHAKES, MAX_UNAUTHENTICATED
from shared.config import Settings, settings_or_exit

DEFAULT_PORT = 8080


def relay_port(environ: Mapping[str, str]) -> int:
    """`RELAY_PORT` if set, else `PORT` if set, else 8080 (the API's default 8000 does not apply)."""
    for name in ("RELAY_PORT", "PORT"):
        value = environ.get(name, "").strip()
        if value:
            port = int(value)
            if not 0 < port < 65536:
                raise SystemExit(f"config error: {name}: must be a port number")
            return port
    return DEFAULT_PORT


class RelayServer(BaseApplication):
    """gunicorn configured in code: one worker, since that process owns the upstream sockets."""

    def __init__(self, settings: Settings, port: int, host: str) -> None:
        self.settings = settings
        self.bind = f"{host}:{port}"
        super().__init__()

    def load_config(self) -> None:
        options: dict[str, Any] = {
            "bind": self.bind,
            "workers": 1,
            "worker_class": "relay.worker.RelayWorker",
            # For gevent workers this is the cap on simultaneous connections: room for every client,
            # every socket waiting to authenticate and every connection waiting for its request
            # head (both bounded, the oldest turned out), plus health probes.
            "worker_connections": self.settings.relay_max_clients + MAX_UNAUTHENTICATED + MAX_HANDSHAKES + 100,
            "timeout": 30,
            "graceful_timeout": 5,
            "keepalive": 5,
            "loglevel": self.settings.log_level.lower(),
            "accesslog": None,
            # Several relays (tests, benchmarks) may run side by side; none needs the control socket.
            "control_socket_disable": True,
        }
        for key, value in options.items():
            self.cfg.set(key, value)

    def load(self) -> Any:
        from relay.app import create_app
        from shared.logs import configure_logging

        configure_logging(self.settings.log_level, self.settings.log_format)
        return create_app(self.settings)


def main() -> None:
    settings = settings_or_exit()
    try:
        port = relay_port(os.environ)
    except ValueError:
        raise SystemExit("config error: RELAY_PORT/PORT: must be a port number") from None
    host = os.environ.get("RELAY_HOST", "0.0.0.0")  # noqa: S104 - a container listens on all interfaces
    RelayServer(settings, port, host).run()


if __name__ == "__main__":
    main()
