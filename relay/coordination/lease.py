"""The leader's lease in Redis: a key with a short TTL, and a fencing token counted at each takeover.

The key holds `<member>|<token>`; `token` comes from a counter incremented by every successful
acquisition, so a newer leader always holds a larger token. All three operations are Lua
scripts, so check-and-act is atomic in Redis.

`LeaseClock` is the pure part: the leader measures its lease from the moment it *sent* a renewal
(before Redis saw it, so Redis' expiry is never earlier), and must be done with its upstream
sockets `margin_s` before that lease could end.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ACQUIRE = """
local holder = redis.call('GET', KEYS[1])
if holder then return {0, holder} end
local token = redis.call('INCR', KEYS[2])
local value = ARGV[1] .. '|' .. token
redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
return {1, value}
"""
RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds the lease: the member (node id and incarnation) and its fencing token."""

    member: str
    token: int

    @property
    def value(self) -> str:
        return f"{self.member}|{self.token}"

    @property
    def node(self) -> str:
        return self.member.rsplit("#", 1)[0]

    @classmethod
    def parse(cls, value: str | bytes | None) -> Holder | None:
        if value is None:
            return None
        text = value.decode() if isinstance(value, bytes) else value
        member, _, token = text.rpartition("|")
        if not member or not token.isdigit():
            return None
        return cls(member, int(token))


class LeaseClock:
    """When a leader must stop acting on its lease, from the send times of its good renewals.

    Safe as long as Redis' clock and ours run at about the same *rate* over one TTL (drift far
    below `margin_s / ttl_s`); their wall-clock times never need to agree.
    """

    def __init__(self, ttl_s: float, margin_s: float) -> None:
        if not 0 < margin_s < ttl_s:
            raise ValueError("the margin must be positive and shorter than the TTL")
        self.ttl_s = ttl_s
        self.margin_s = margin_s
        self._valid_until: float | None = None

    def granted(self, sent_at: float) -> None:
        """A renewal (or the acquisition) sent at `sent_at` succeeded."""
        until = sent_at + self.ttl_s - self.margin_s
        if self._valid_until is None or until > self._valid_until:
            self._valid_until = until

    def lost(self) -> None:
        self._valid_until = None

    def valid(self, now: float) -> bool:
        return self._valid_until is not None and now < self._valid_until

    def left(self, now: float) -> float:
        """Seconds before the leader must have stood down (0 when it must now)."""
        return 0.0 if self._valid_until is None else max(0.0, self._valid_until - now)


class RedisLease:
    """The three lease operations against one Redis (the shell around the scripts)."""

    def __init__(self, redis: Any, prefix: str, ttl_s: float) -> None:
        self.key = f"{prefix}:leader"
        self.fence_key = f"{prefix}:fence"
        self.ttl_ms = int(ttl_s * 1000)
        self._acquire = redis.register_script(ACQUIRE)
        self._renew = redis.register_script(RENEW)
        self._release = redis.register_script(RELEASE)
        self._redis = redis

    def try_acquire(self, member: str) -> tuple[bool, Holder | None]:
        """Take the lease if nobody holds it; (won, whoever holds it now)."""
        won, value = self._acquire(keys=[self.key, self.fence_key], args=[member, self.ttl_ms])
        return bool(won), Holder.parse(value)

    def renew(self, holder: Holder) -> bool:
        return bool(self._renew(keys=[self.key], args=[holder.value, self.ttl_ms]))

    def release(self, holder: Holder) -> bool:
        return bool(self._release(keys=[self.key], args=[holder.value]))

    def holder(self) -> Holder | None:
        return Holder.parse(self._redis.get(self.key))

    def still_mine(self, holder: Holder) -> bool:
        """The fencing check before an upstream (re)connect: the key still names our token."""
        current = self.holder()
        return current is not None and current == holder
