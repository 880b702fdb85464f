"""A bounded set of connections waiting for something (headers, authentication), oldest first (pure).

When a newcomer would pass the bound, the oldest waiter is turned out instead of the newcomer:
whoever holds sockets open without finishing can only push out other idle waiters, never stop a
client that completes its step at once from getting in.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Generic, TypeVar

T = TypeVar("T")

# Connections waiting for their request line and headers (`relay.worker`).
MAX_HANDSHAKES = 128
# Sockets upgraded without a token, waiting (5 s at most) for an auth frame (`relay.node`). They
# hold no client slot; past this many the oldest is closed, so they can never keep an admin out.
MAX_UNAUTHENTICATED = 128


class WaitingRoom(Generic[T]):
    """At most `limit` waiters, keyed by id; `enter` returns those turned out to make room."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self._waiting: OrderedDict[int, T] = OrderedDict()

    def __len__(self) -> int:
        return len(self._waiting)

    def __contains__(self, key: int) -> bool:
        return key in self._waiting

    def enter(self, key: int, waiter: T) -> list[T]:
        """Admit `waiter`; the oldest waiters past the limit are removed and returned."""
        self._waiting[key] = waiter
        self._waiting.move_to_end(key)
        turned_out: list[T] = []
        while len(self._waiting) > self.limit:
            _, oldest = self._waiting.popitem(last=False)
            turned_out.append(oldest)
        return turned_out

    def leave(self, key: int) -> T | None:
        """Remove `key` if it is waiting."""
        return self._waiting.pop(key, None)

    def waiters(self) -> list[T]:
        return list(self._waiting.values())
