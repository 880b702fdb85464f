"""Rate limiting of client frames (pure; the caller passes the clock).

Every frame a client sends counts, control frames (ping, pong) included. Within the served rate a
frame is handled; past it the frame is dropped; a client that keeps sending at more than the
tolerated rate is closed, since dropping costs the relay a read and a parse all the same.
"""

from __future__ import annotations

from enum import StrEnum

FRAMES_PER_SECOND = 50
# Past this sustained rate (with a burst of twice as many) the client is closed with 1008.
TOLERATED_FRAMES_PER_SECOND = 2 * FRAMES_PER_SECOND


class TokenBucket:
    """Allows `rate` events a second on average with bursts up to `burst`."""

    def __init__(self, rate: float = FRAMES_PER_SECOND, burst: float | None = None, now: float = 0.0) -> None:
        self.rate = rate
        self.burst = burst if burst is not None else rate
        self._tokens = self.burst
        self._updated = now

    def allow(self, now: float) -> bool:
        """Take one token if there is one at time `now`."""
        elapsed = max(0.0, now - self._updated)
        self._updated = now
        self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class Admission(StrEnum):
    """What to do with one frame a client sent."""

    SERVE = "serve"
    DROP = "drop"
    CLOSE = "close"


class FrameRate:
    """A client's frame budget: served up to `served` frames/s, closed past `tolerated` frames/s."""

    def __init__(
        self,
        served: float = FRAMES_PER_SECOND,
        tolerated: float = TOLERATED_FRAMES_PER_SECOND,
        now: float = 0.0,
    ) -> None:
        self.served = served
        self.tolerated = tolerated
        self._serve = TokenBucket(served, now=now)
        self._tolerate = TokenBucket(tolerated, burst=2 * tolerated, now=now)

    def admit(self, now: float) -> Admission:
        """Count one frame received at `now`."""
        if not self._tolerate.allow(now):
            return Admission.CLOSE
        if not self._serve.allow(now):
            return Admission.DROP
        return Admission.SERVE
