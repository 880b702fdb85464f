"""Token-bucket rate limiting of client frames (pure; the caller passes the clock)."""

from __future__ import annotations

FRAMES_PER_SECOND = 50


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
