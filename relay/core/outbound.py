"""A client's bounded outbound queue: conflation past a soft limit, overflow at a hard one (pure)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from relay.core.hub import Delivery

SOFT_LIMIT_BYTES = 256 * 1024
HARD_LIMIT_BYTES = 1024 * 1024


@dataclass(frozen=True, slots=True)
class PushOutcome:
    """What queuing a delivery did: events replaced by newer ones, conflation begun, overflow."""

    conflated: int = 0
    started_conflating: bool = False
    overflow: bool = False


class OutboundQueue:
    """Frames waiting for one client's socket, bounded in bytes.

    Below the soft limit every frame is kept as routed. Past it, quotes and index values keep
    only the latest event per channel (sent as one frame when the queue drains) while other
    events still queue in full; past the hard limit the caller must drop the client.
    """

    def __init__(self, soft_limit: int = SOFT_LIMIT_BYTES, hard_limit: int = HARD_LIMIT_BYTES) -> None:
        if not 0 < soft_limit <= hard_limit:
            raise ValueError("need 0 < soft_limit <= hard_limit")
        self.soft_limit = soft_limit
        self.hard_limit = hard_limit
        self.queued_bytes = 0
        self._frames: deque[bytes] = deque()
        self._latest: dict[str, bytes] = {}
        self._conflating = False

    def __len__(self) -> int:
        return len(self._frames) + (1 if self._latest else 0)

    @property
    def conflating(self) -> bool:
        return self._conflating

    @property
    def overflowed(self) -> bool:
        return self.queued_bytes > self.hard_limit

    def push_frame(self, payload: bytes) -> bool:
        """Queue a frame that must arrive whole (a status); False when it overflowed the queue."""
        self._frames.append(payload)
        self.queued_bytes += len(payload)
        return not self.overflowed

    def push(self, delivery: Delivery) -> PushOutcome:
        """Queue one routed delivery, conflating if the client lags."""
        if not self._conflating and self.queued_bytes + len(delivery.payload) <= self.soft_limit:
            self._frames.append(delivery.payload)
            self.queued_bytes += len(delivery.payload)
            return PushOutcome()
        started = not self._conflating
        self._conflating = True
        conflated = 0
        whole: list[bytes] = []
        for key, data in delivery.parts:
            if key is None:
                whole.append(data)
                continue
            previous = self._latest.get(key)
            if previous is not None:
                conflated += 1
                self.queued_bytes -= len(previous)
            self._latest[key] = data
            self.queued_bytes += len(data)
        if whole:
            frame = b"[" + b",".join(whole) + b"]"
            self._frames.append(frame)
            self.queued_bytes += len(frame)
        return PushOutcome(conflated, started, self.overflowed)

    def pop(self) -> bytes | None:
        """The next frame to write, or None when nothing waits (which ends conflation)."""
        if self._frames:
            frame = self._frames.popleft()
            self.queued_bytes -= len(frame)
            return frame
        if self._latest:
            parts = list(self._latest.values())
            self._latest.clear()
            self.queued_bytes -= sum(len(part) for part in parts)
            return b"[" + b",".join(parts) + b"]"
        self._conflating = False
        return None

    def clear(self) -> None:
        """Drop everything queued (the client is going away)."""
        self._frames.clear()
        self._latest.clear()
        self.queued_bytes = 0
