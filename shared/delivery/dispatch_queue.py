"""Handing a channel's remaining work to another sender: the SQS queue, or the in-process queue.

A message names a channel, not a delivery: whoever receives it drains that channel in order.
"""

from __future__ import annotations

import heapq
import logging
import math
import threading
import time
from typing import Any, Protocol
from uuid import UUID

from pydantic import BaseModel, ConfigDict

log = logging.getLogger(__name__)

# SQS delays a message by at most 15 minutes; later work is the sweeper's.
MAX_DELAY_S = 900


class ChannelMessage(BaseModel):
    """The body of a queue message: drain this channel."""

    model_config = ConfigDict(defer_build=True, extra="ignore")

    channel_id: UUID


class HandOff(Protocol):
    """Somewhere to leave a channel's remaining work."""

    def send(self, channel_id: UUID, *, delay_s: float = 0.0) -> None: ...


_sqs_client: Any = None
_sqs_client_lock = threading.Lock()


def process_sqs_client() -> Any:
    """The process's one SQS client, made on first use: building one costs 200-300 ms, a request's budget."""
    global _sqs_client
    with _sqs_client_lock:
        if _sqs_client is None:
            import boto3

            _sqs_client = boto3.client("sqs")
        return _sqs_client


def forget_sqs_client() -> None:
    """Drop the process's client (tests that point AWS_ENDPOINT_URL at a new moto server)."""
    global _sqs_client
    with _sqs_client_lock:
        _sqs_client = None


class SqsHandOff:
    """Hands work to the `discord_send` function through SQS (ALERT_QUEUE_URL)."""

    def __init__(self, queue_url: str, client: Any = None) -> None:
        self.queue_url = queue_url
        self._client = client

    def _sqs(self) -> Any:
        return self._client if self._client is not None else process_sqs_client()

    def send(self, channel_id: UUID, *, delay_s: float = 0.0) -> None:
        """Queue the channel, delayed by `delay_s` (rounded up, at most 15 minutes)."""
        body = ChannelMessage(channel_id=channel_id).model_dump_json()
        delay = min(max(math.ceil(delay_s), 0), MAX_DELAY_S)
        self._sqs().send_message(QueueUrl=self.queue_url, MessageBody=body, DelaySeconds=delay)


class LocalQueue:
    """The in-process queue the local worker drains; one entry per channel, at its earliest time."""

    def __init__(self, clock: Any = time.time) -> None:
        self._clock = clock
        self._heap: list[tuple[float, int, UUID]] = []
        self._due: dict[UUID, float] = {}
        self._counter = 0
        self._cond = threading.Condition()

    def send(self, channel_id: UUID, *, delay_s: float = 0.0) -> None:
        at = self._clock() + max(delay_s, 0.0)
        with self._cond:
            if channel_id in self._due and self._due[channel_id] <= at:
                return
            self._due[channel_id] = at
            self._counter += 1
            heapq.heappush(self._heap, (at, self._counter, channel_id))
            self._cond.notify()

    def get(self, timeout_s: float) -> UUID | None:
        """The next channel whose time has come, waiting at most `timeout_s`; None if none."""
        end = self._clock() + timeout_s
        with self._cond:
            while True:
                now = self._clock()
                while self._heap and self._due.get(self._heap[0][2]) != self._heap[0][0]:
                    heapq.heappop(self._heap)  # superseded by an earlier entry for the same channel
                if self._heap and self._heap[0][0] <= now:
                    _, _, channel_id = heapq.heappop(self._heap)
                    del self._due[channel_id]
                    return channel_id
                if now >= end:
                    return None
                wait = end - now if not self._heap else min(end, self._heap[0][0]) - now
                self._cond.wait(max(wait, 0.001))

    def __len__(self) -> int:
        with self._cond:
            return len(self._due)


_local_queue = LocalQueue()


def local_queue() -> LocalQueue:
    """The process's in-process queue (fed when ALERT_QUEUE_URL is unset)."""
    return _local_queue


def configured_hand_off() -> HandOff:
    """SQS when ALERT_QUEUE_URL is set, else the in-process queue."""
    from shared.config import get_settings

    url = get_settings().alert_queue_url
    return SqsHandOff(url) if url else _local_queue


def follow_up(
    hand_off: HandOff,
    channel_id: UUID,
    *,
    reason: str,
    next_at: float | None,
    now: float,
    strict: bool = False,
) -> None:
    """Leave a channel's remaining work with `hand_off`, unless nothing is left or a sender holds it.

    A failed hand-off is logged (the sweeper is the backstop) unless `strict`, when it raises.
    """
    if next_at is None or reason == "busy":
        return
    delay = max(next_at - now, 0.0)
    if delay > MAX_DELAY_S:
        return  # the sweeper picks it up when it is due
    try:
        hand_off.send(channel_id, delay_s=delay)
    except Exception:
        if strict:
            raise
        log.exception(
            "could not hand off delivery work; the sweeper will pick it up", extra={"channel_id": str(channel_id)}
        )
