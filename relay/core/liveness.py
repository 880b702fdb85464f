"""When a client session must be pinged or closed: keepalive, auth deadline, token expiry (pure)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

PING_INTERVAL_S = 25.0
PONG_TIMEOUT_S = 10.0
AUTH_DEADLINE_S = 5.0


class Verdict(StrEnum):
    """What a session needs now."""

    OK = "ok"
    PING = "ping"
    NO_PONG = "no_pong"
    AUTH_TIMEOUT = "auth_timeout"
    TOKEN_EXPIRED = "token_expired"  # noqa: S105 - a verdict name, not a secret


@dataclass(slots=True)
class Liveness:
    """A session's clocks. `now` is monotonic; `wall` is epoch seconds (token expiry)."""

    opened_at: float
    ping_interval_s: float = PING_INTERVAL_S
    pong_timeout_s: float = PONG_TIMEOUT_S
    auth_deadline_s: float = AUTH_DEADLINE_S
    authenticated: bool = False
    expires_at: float | None = None
    last_ping_at: float | None = None
    awaiting_pong_since: float | None = None

    def check(self, now: float, wall: float) -> Verdict:
        """The one thing due now, most severe first."""
        if not self.authenticated:
            if now - self.opened_at >= self.auth_deadline_s:
                return Verdict.AUTH_TIMEOUT
        elif self.expires_at is not None and wall >= self.expires_at:
            return Verdict.TOKEN_EXPIRED
        if self.awaiting_pong_since is not None:
            if now - self.awaiting_pong_since >= self.pong_timeout_s:
                return Verdict.NO_PONG
            return Verdict.OK
        since = self.last_ping_at if self.last_ping_at is not None else self.opened_at
        if now - since >= self.ping_interval_s:
            return Verdict.PING
        return Verdict.OK

    def pinged(self, now: float) -> None:
        self.last_ping_at = now
        self.awaiting_pong_since = now

    def answered(self) -> None:
        """The client showed it is alive (a pong or any other frame)."""
        self.awaiting_pong_since = None

    def authenticate(self, expires_at: float | None) -> None:
        self.authenticated = True
        self.expires_at = expires_at
