"""The upstream connection's state machine, backoff and socket budget (pure; the caller passes time).

The driver in `relay.link` asks `decide()` what to do next and reports what happened; every rule
about when to connect, retry, give up for a while or close an idle socket lives here.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from enum import StrEnum

from relay.core.channels import Cluster

BACKOFF_BASE_S = 1.0
BACKOFF_CAP_S = 30.0
# Another process holding the key evicts us; both must wait long enough not to ping-pong.
EVICTED_MIN_S = 60.0
EVICTED_JITTER_S = 60.0
AUTH_RETRY_S = 300.0
SILENCE_LIMIT_S = 45.0
UNHEALTHY_AFTER_S = 10.0


class LinkState(StrEnum):
    """Where the upstream socket of one cluster stands."""

    IDLE = "idle"
    CONNECTING = "connecting"
    AUTHENTICATING = "authenticating"
    CONNECTED = "connected"
    BACKOFF = "backoff"
    AUTH_FAILED = "auth_failed"
    EVICTED = "evicted"


class Step(StrEnum):
    """What the driver should do now."""

    CONNECT = "connect"
    CLOSE_IDLE = "close_idle"
    DROP_SILENT = "drop_silent"
    WAIT = "wait"


@dataclass(frozen=True, slots=True)
class Decision:
    """A step, and for WAIT how long at most before asking again (None: until something changes)."""

    step: Step
    wait_s: float | None = None


def full_jitter(attempt: int, rng: random.Random, base: float = BACKOFF_BASE_S, cap: float = BACKOFF_CAP_S) -> float:
    """Delay before reconnect `attempt` (1-based): uniform in [0, min(cap, base·2^(attempt-1))]."""
    ceiling = min(cap, base * 2 ** max(0, min(attempt - 1, 30)))
    return rng.uniform(0.0, ceiling)


class UpstreamMachine:
    """The life of one cluster's upstream socket."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        idle_close_s: float,
        silence_s: float = SILENCE_LIMIT_S,
        rng: random.Random | None = None,
    ) -> None:
        self.cluster = cluster
        self.idle_close_s = idle_close_s
        self.silence_s = silence_s
        self.rng = rng or random.Random()
        self.state = LinkState.IDLE
        self.reconnect_attempts = 0
        self.last_error: str | None = None
        self.retry_at: float | None = None
        self.last_heard: float | None = None
        self.empty_since: float | None = None
        self.down_since: float | None = None

    def decide(self, now: float, wanted: bool) -> Decision:
        """The next step, given whether any client holds a channel of this cluster."""
        if wanted and self.state is not LinkState.CONNECTED and self.down_since is None:
            self.down_since = now
        state = self.state
        if state is LinkState.IDLE:
            if not wanted:
                self.down_since = None
                return Decision(Step.WAIT)
            return Decision(Step.CONNECT)
        if state in (LinkState.BACKOFF, LinkState.AUTH_FAILED, LinkState.EVICTED):
            assert self.retry_at is not None
            if now < self.retry_at:
                return Decision(Step.WAIT, self.retry_at - now)
            if wanted:
                return Decision(Step.CONNECT)
            self._idle()
            return Decision(Step.WAIT)
        if state is LinkState.CONNECTED:
            heard = self.last_heard if self.last_heard is not None else now
            quiet_left = self.silence_s - (now - heard)
            if quiet_left <= 0:
                return Decision(Step.DROP_SILENT)
            if wanted:
                self.empty_since = None
                return Decision(Step.WAIT, quiet_left)
            if self.empty_since is None:
                self.empty_since = now
            idle_left = self.idle_close_s - (now - self.empty_since)
            if idle_left <= 0:
                return Decision(Step.CLOSE_IDLE)
            return Decision(Step.WAIT, min(idle_left, quiet_left))
        return Decision(Step.WAIT)

    def healthy(self, now: float, wanted: bool) -> tuple[bool, str | None]:
        """Whether this cluster is fine, and if not, why."""
        if self.state is LinkState.AUTH_FAILED:
            return False, f"{self.cluster}: Massive refused the API key ({self.last_error or 'auth_failed'})"
        if self.state is LinkState.EVICTED:
            return False, (
                f"{self.cluster}: another process holds the Massive key's {self.cluster} connection "
                "(max_connections); backing off"
            )
        if wanted and self.state is not LinkState.CONNECTED and self.down_since is not None:
            down_for = now - self.down_since
            if down_for >= UNHEALTHY_AFTER_S:
                return False, f"{self.cluster}: clients are waiting and the upstream has been down {down_for:.0f} s"
        return True, None

    # --- what happened ---------------------------------------------------------------------

    def connecting(self, now: float) -> None:
        self.state = LinkState.CONNECTING
        if self.down_since is None:
            self.down_since = now

    def authenticating(self, now: float) -> None:
        self.state = LinkState.AUTHENTICATING
        self.last_heard = now

    def connected(self, now: float) -> None:
        self.state = LinkState.CONNECTED
        self.reconnect_attempts = 0
        self.retry_at = None
        self.last_heard = now
        self.empty_since = None
        self.down_since = None

    def heard(self, now: float) -> None:
        """The upstream sent something (data, a status or a pong)."""
        self.last_heard = now

    def refused(self, error: str) -> None:
        """The upstream answered with an error status; the socket stays up, so only the error is kept."""
        self.last_error = error

    def dropped(self, error: str, now: float) -> float:
        """The socket failed or closed; returns the backoff delay chosen."""
        self.reconnect_attempts += 1
        delay = full_jitter(self.reconnect_attempts, self.rng)
        self._retry(LinkState.BACKOFF, error, now, delay)
        return delay

    def auth_failed(self, message: str, now: float) -> float:
        self.reconnect_attempts += 1
        self._retry(LinkState.AUTH_FAILED, message, now, AUTH_RETRY_S)
        return AUTH_RETRY_S

    def evicted(self, message: str, now: float) -> float:
        self.reconnect_attempts += 1
        delay = EVICTED_MIN_S + self.rng.uniform(0.0, EVICTED_JITTER_S)
        self._retry(LinkState.EVICTED, message, now, delay)
        return delay

    def closed_idle(self) -> None:
        """The socket was closed because no client held any channel for the idle time."""
        self._idle()

    def _retry(self, state: LinkState, error: str, now: float, delay: float) -> None:
        self.state = state
        self.last_error = error
        self.retry_at = now + delay
        if self.down_since is None:
            self.down_since = now

    def _idle(self) -> None:
        self.state = LinkState.IDLE
        self.reconnect_attempts = 0
        self.retry_at = None
        self.empty_since = None
        self.down_since = None


class ConnectionBudget:
    """The process-wide cap on upstream sockets (`MAX_WS_CONNECTIONS`), one per cluster at most."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._holders: set[Cluster] = set()

    @property
    def in_use(self) -> int:
        return len(self._holders)

    def acquire(self, cluster: Cluster) -> bool:
        """Take a socket slot for `cluster`; False when the cap is reached."""
        if cluster in self._holders:
            raise RuntimeError(f"{cluster} already holds an upstream socket")
        if len(self._holders) >= self.limit:
            return False
        self._holders.add(cluster)
        return True

    def release(self, cluster: Cluster) -> None:
        self._holders.discard(cluster)
