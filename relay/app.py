"""The relay's WSGI application: WebSocket endpoints and the health routes.

Admission (path, origin, token) runs before the upgrade, in `relay.worker.RelayHandler`, so a
bad token gets HTTP 401 instead of a socket; a client without a token is upgraded and has
5 s to authenticate with a first frame.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson

from relay.admission import Gatekeeper, request_token
from relay.coordination import Coordinator, MemberHost
from relay.coordination.redis import RedisCoordinator, connect_redis, default_node_id
from relay.coordination.standalone import Standalone
from relay.core.channels import Cluster
from relay.core.health import basic_health
from relay.core.wire import close_frame
from relay.link import NewLink
from relay.node import Coordination, RelayConfig, RelayNode
from relay.session import CLOSE_POLICY, ClientSession
from shared.admins import NotAnAdmin
from shared.auth import AuthError, TokenVerifier
from shared.config import Settings
from shared.logs import register_secret

log = logging.getLogger("relay.app")

WS_PATHS = {f"/ws/{cluster}": cluster for cluster in Cluster}
REFUSAL_KEY = "relay.refusal"
PRINCIPAL_KEY = "relay.principal"
SIMULATOR_KEY = "simulator"

StartResponse = Callable[..., Any]
Environ = dict[str, Any]


@dataclass(frozen=True, slots=True)
class HandshakeRefusal:
    """Why a handshake is refused, as an HTTP error."""

    status: int
    code: str
    message: str
    field: str | None = None


_REASONS = {200: "OK", 401: "Unauthorized", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed",
            426: "Upgrade Required", 503: "Service Unavailable"}


def _json(start_response: StartResponse, status: int, body: object) -> list[bytes]:
    payload = orjson.dumps(body)
    start_response(
        f"{status} {_REASONS.get(status, 'Error')}",
        [("Content-Type", "application/json"), ("Content-Length", str(len(payload))),
         ("Cache-Control", "no-store")],
    )
    return [payload]


STATUS_PAGE = (Path(__file__).with_name("status_page.html")).read_bytes()
# The page loads nothing from anywhere but this relay; its script and style are inline.
STATUS_PAGE_CSP = (
    "default-src 'none'; connect-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)


def _status_page(start_response: StartResponse) -> list[bytes]:
    """`GET /`: the ops status page (relay/status_page.html), which polls /api/ws-health."""
    start_response("200 OK", [
        ("Content-Type", "text/html; charset=utf-8"),
        ("Content-Length", str(len(STATUS_PAGE))),
        ("Content-Security-Policy", STATUS_PAGE_CSP),
        ("Cache-Control", "no-cache"),
    ])
    return [STATUS_PAGE]


def _error(start_response: StartResponse, refusal: HandshakeRefusal) -> list[bytes]:
    body = {"error": {"code": refusal.code, "message": refusal.message, "field": refusal.field}}
    return _json(start_response, refusal.status, body)


class RelayApp:
    """WSGI callable serving `/ws/options`, `/ws/indices`, `/api/health`, `/api/ws-health`, `/metrics`."""

    def __init__(self, relay: RelayNode) -> None:
        self.relay = relay

    def shutdown(self) -> None:
        """Close every client with 1001 and every upstream socket."""
        self.relay.shutdown()

    def refuse_upgrade(self, environ: Environ) -> bool:
        """Check a WebSocket handshake before upgrading; True means answer it over plain HTTP."""
        return self._admit(environ) is not None

    def _admit(self, environ: Environ) -> HandshakeRefusal | None:
        if REFUSAL_KEY in environ or PRINCIPAL_KEY in environ:
            refusal: HandshakeRefusal | None = environ.get(REFUSAL_KEY)
            return refusal
        refusal = self._check(environ)
        if refusal is not None:
            environ[REFUSAL_KEY] = refusal
        return refusal

    def _check(self, environ: Environ) -> HandshakeRefusal | None:
        if environ.get("PATH_INFO") not in WS_PATHS:
            return HandshakeRefusal(404, "not_found", "WebSocket paths are /ws/options and /ws/indices")
        origin = environ.get("HTTP_ORIGIN")
        if not self.relay.gatekeeper.origin_allowed(origin):
            # A browser never shows a refused handshake's body (the page sees close code 1006), so the
            # relay's own log must say which origin and what to set.
            message = (f"origin {origin!r} is not allowed: add it to RELAY_ALLOWED_ORIGINS (comma-separated)"
                       " or set WEB_ORIGIN, then restart the relay")
            log.warning("[ConnectionPool] handshake refused: %s", message,
                        extra={"reason": "origin_not_allowed", "origin": origin})
            return HandshakeRefusal(403, "origin_not_allowed", message, "Origin")
        try:
            token = request_token(environ)
            principal = self.relay.gatekeeper.authenticate(token) if token else None
        except NotAnAdmin as error:
            log.info("[ConnectionPool] handshake refused: %s", error.reason, extra={"reason": error.reason})
            return HandshakeRefusal(403, error.reason, error.message, "token")
        except AuthError as error:
            log.info("[ConnectionPool] handshake refused: %s", error.reason, extra={"reason": error.reason})
            return HandshakeRefusal(401, "unauthorized", error.message, "token")
        environ[PRINCIPAL_KEY] = principal
        return None

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        socket = environ.get("wsgi.websocket")
        if socket is not None:
            self._serve_socket(environ, socket)
            return []
        path = environ.get("PATH_INFO", "")
        if path in WS_PATHS:
            refusal = self._admit(environ) or HandshakeRefusal(
                426, "upgrade_required", "connect with a WebSocket client"
            )
            return _error(start_response, refusal)
        if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
            return _error(start_response, HandshakeRefusal(405, "method_not_allowed", "only GET is served"))
        if path == "/":
            return _status_page(start_response)
        if path == "/api/health":
            return _json(start_response, 200, basic_health(self.relay.started_at, time.time()))
        if path == "/api/ready":
            ready = self.relay.ready()
            return _json(start_response, 200 if ready else 503,
                         {"ready": ready, "node": self.relay.config.node_id})
        if path == "/api/ws-health":
            status, body = self.relay.ws_health()
            return _json(start_response, status, body)
        if path == "/metrics":
            text = self.relay.metrics_text().encode()
            start_response("200 OK", [("Content-Type", "text/plain; version=0.0.4; charset=utf-8"),
                                      ("Content-Length", str(len(text)))])
            return [text]
        return _error(start_response, HandshakeRefusal(404, "not_found", f"no route {path}"))

    def _serve_socket(self, environ: Environ, websocket: Any) -> None:
        handler = websocket.handler
        sock, read = handler.socket, handler.rfile.read
        try:
            if self._admit(environ) is not None:
                # Reached only when the server did not check before upgrading.
                sock.sendall(close_frame(CLOSE_POLICY, "unauthorized"))
                return
            cluster = WS_PATHS[environ["PATH_INFO"]]
            session = ClientSession(
                self.relay.next_session_id(),
                cluster,
                sock,
                read,
                self.relay,
                environ.get(PRINCIPAL_KEY),
                str(environ.get("REMOTE_ADDR", "")),
            )
            session.run()
        finally:
            # We closed the socket ourselves; gevent-websocket's own close() would send a bad frame.
            websocket.closed = True


def relay_config(settings: Settings, upstream_url: str | None = None, *, simulated: bool = False) -> RelayConfig:
    """The node's configuration; `upstream_url` replaces Massive's (the simulator's address)."""
    key = settings.massive_api_key.get_secret_value() if settings.massive_api_key else SIMULATOR_KEY
    return RelayConfig(
        source="simulator" if simulated else "massive",
        max_channels_per_client=settings.relay_max_channels_per_client,
        upstream_url=upstream_url or settings.massive_ws_url,
        api_key=key,
        max_upstream_connections=settings.max_ws_connections,
        max_clients=settings.relay_max_clients,
        idle_close_s=settings.relay_idle_close_s,
        ping_interval_s=settings.relay_ping_interval_s,
        pong_timeout_s=settings.relay_pong_timeout_s,
        upstream_silence_s=settings.relay_upstream_silence_s,
        node_id=settings.relay_node_id or default_node_id(),
    )


def simulating(settings: Settings) -> bool:
    """The built-in simulator replaces Massive without a key, or when asked to."""
    return settings.relay_simulate or settings.massive_api_key is None


def create_app(settings: Settings) -> RelayApp:
    """Build the relay (starting the simulator when there is no key) and start its greenlets."""
    api_key = settings.massive_api_key.get_secret_value() if settings.massive_api_key else None
    proxy_token = settings.massive_proxy_token.get_secret_value() if settings.massive_proxy_token else None
    register_secret(api_key)
    register_secret(proxy_token)
    upstream_url = None
    if simulating(settings):
        from relay.simulator import Simulator

        upstream_url = Simulator().start()
        log.info("relay: no MASSIVE_API_KEY or RELAY_SIMULATE=1: streaming from the built-in simulator",
                 extra={"upstream": upstream_url})
    gatekeeper = Gatekeeper(TokenVerifier.from_settings(settings), proxy_token, settings.allowed_relay_origins,
                            allow_local_origins=settings.relay_allow_local_origins,
                            admin_roles=settings.admin_role_set)
    config = relay_config(settings, upstream_url, simulated=upstream_url is not None)
    coordination: Coordination = Standalone
    if settings.redis_url:
        register_secret(urlsplit(settings.redis_url).password)
        client = connect_redis(settings.redis_url)

        def coordination(host: MemberHost, new_link: NewLink) -> Coordinator:
            return RedisCoordinator(
                host,
                new_link,
                client,
                prefix=settings.relay_redis_prefix,
                node_id=config.node_id,
                ttl_s=settings.relay_lease_ttl_s,
                shards=settings.relay_fanout_shards,
            )

        log.info("relay: a member of a cluster of relays (REDIS_URL set)", extra={"node": config.node_id})
    relay = RelayNode(config, gatekeeper, coordination)
    relay.start()
    return RelayApp(relay)
