"""Who may use the relay: admins' JWTs (shared/admins.py) or the shared proxy token, and allowed browser origins."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qs, urlsplit

from shared.admins import DEFAULT_ADMIN_ROLES, require_admin
from shared.auth import AuthError, TokenVerifier, bearer_token

ANY_ORIGIN = "*"
LOCAL_HOSTS = frozenset({"localhost", "127.0.0.1", "[::1]"})


def local_origin(origin: str) -> bool:
    """`http://localhost:*`, `http://127.0.0.1:*` or `http://[::1]:*`: a page served on this machine."""
    try:
        parts = urlsplit(origin)
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return False
    host = parts.netloc.rpartition(":")[0] if parts.port is not None else parts.netloc
    return parts.scheme == "http" and host in LOCAL_HOSTS and not parts.path.strip("/")


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated client: an admin (until `expires_at`) or a trusted service."""

    kind: Literal["admin", "service"]
    subject: str
    expires_at: float | None


class Gatekeeper:
    """Checks tokens and origins; never logs or keeps a token."""

    def __init__(
        self,
        verifier: TokenVerifier,
        proxy_token: str | None,
        allowed_origins: frozenset[str],
        *,
        allow_local_origins: bool = False,
        admin_roles: frozenset[str] = DEFAULT_ADMIN_ROLES,
    ) -> None:
        self._verifier = verifier
        self._admin_roles = admin_roles
        self._proxy_token = proxy_token.encode() if proxy_token else None
        self._origins = allowed_origins
        self._allow_local = allow_local_origins

    def authenticate(self, token: str) -> Principal:
        """The principal `token` stands for, or AuthError (NotAnAdmin for a valid member's token)."""
        if not token:
            raise AuthError("missing_token", "a token is required")
        if self._proxy_token is not None and hmac.compare_digest(token.encode(), self._proxy_token):
            return Principal("service", "proxy-token", None)
        verified = require_admin(self._verifier.verify(token), self._admin_roles)
        return Principal("admin", str(verified.user_id), verified.expires_at)

    def origin_allowed(self, origin: str | None) -> bool:
        """Requests without an Origin header (services, wscat) pass; browsers must be listed.

        With `allow_local_origins` (RELAY_ALLOW_LOCAL_ORIGINS, which make dev sets), pages on this
        machine's loopback names pass too.
        """
        if origin is None:
            return True
        if self._allow_local and local_origin(origin):
            return True
        return ANY_ORIGIN in self._origins or origin.rstrip("/") in self._origins


def request_token(environ: dict[str, object]) -> str | None:
    """The token a handshake carries in `?token=` or `Authorization: Bearer`, if any.

    A malformed Authorization header raises AuthError rather than being ignored.
    """
    query = parse_qs(str(environ.get("QUERY_STRING", "")))
    tokens = query.get("token")
    if tokens and tokens[0]:
        return tokens[0]
    header = environ.get("HTTP_AUTHORIZATION")
    if header:
        return bearer_token(str(header))
    return None
