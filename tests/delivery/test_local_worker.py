"""The in-process sender (as `python -m functions serve` and the benchmark run it) after a transient failure.

One failed attempt in the middle of a stream must cost that channel its backoff, not the rest of
the run: the retry is taken up when it is due, by the senders, without waiting for the sweeper.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from shared.db import service_tx
from shared.delivery.dispatch_queue import LocalQueue
from shared.delivery.engine import RECORD_TRIES, DeliveryEngine
from shared.discord.client import DiscordClient, ExecuteResult
from shared.discord.webhook_url import WebhookRef
from shared.local.delivery_worker import start_local_worker
from tests.delivery.conftest import FAST_POLICY, AddChannel, Admin, Enqueue, MakeEngine, delivery_rows
from tests.fakes.discord import FakeDiscord

CHANNELS = 4
MESSAGES = 15
# 2 s backoff (or the 429's retry_after), then what is left of the stream at the fast limits.
WITHIN_S = 12.0

Inject = Callable[[FakeDiscord, str], None]

FAILURES: dict[str, Inject] = {
    "5xx": lambda fake, hook: fake.fail_next(hook, 502),
    "429": lambda fake, hook: fake.rate_limit_next(hook, 0.5),
    "read timeout": lambda fake, hook: fake.slow_next(hook, 0.8),
    "connection reset": lambda fake, hook: fake.drop_next(hook),
}


def _titles(fake: FakeDiscord, webhook_id: str) -> list[str]:
    return [m.payload["embeds"][0]["title"] for m in fake.messages(webhook_id)]


def _stream(
    fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue
) -> tuple[list[str], list[uuid.UUID], list[str], list[uuid.UUID]]:
    """CHANNELS webhooks and channels, and MESSAGES messages to every one: (hooks, channels, titles, ids)."""
    hooks = [fake.add_webhook() for _ in range(CHANNELS)]
    channels = [add_channel(admin, hook) for hook in hooks]
    titles = [f"alert {n:02d}" for n in range(MESSAGES)]
    return [hook.id for hook in hooks], channels, titles, enqueue(admin, channels, titles)


def _wait_until_sent(db: Any, ids: list[uuid.UUID], within_s: float) -> float:
    start = time.time()
    while time.time() - start < within_s:
        if all(row["status"] == "sent" for row in delivery_rows(db, ids)):
            break
        time.sleep(0.05)
    return time.time() - start


@pytest.mark.parametrize("failure", list(FAILURES))
def test_one_transient_failure_mid_stream_delays_only_its_channel_and_only_until_the_retry_is_due(
    failure: str,
    fast_fake: FakeDiscord,
    admin: Admin,
    add_channel: AddChannel,
    enqueue: Enqueue,
    make_engine: MakeEngine,
    db: Any,
) -> None:
    hooks, channels, titles, ids = _stream(fast_fake, admin, add_channel, enqueue)
    # A read timeout must outlast the slow answer; the sweeper is out of the picture, as in the benchmark.
    engine = make_engine(fast_fake, read_timeout_s=0.3)
    queue = LocalQueue()
    stop = start_local_worker(engine=engine, queue=queue, senders=2, sweep_every_s=3600)
    try:
        for channel in channels:
            queue.send(channel)
        victim = hooks[1]
        deadline = time.time() + 5
        while len(fast_fake.messages(victim)) < 4 and time.time() < deadline:
            time.sleep(0.005)
        FAILURES[failure](fast_fake, victim)
        took = _wait_until_sent(db, ids, within_s=WITHIN_S)
    finally:
        stop()
    rows = delivery_rows(db, ids)
    unsent = [(r["channel_id"], r["status"], r["attempts"], r["last_error"]) for r in rows if r["status"] != "sent"]
    assert not unsent, f"after {took:.1f} s: {unsent}"
    retried = [r for r in rows if r["channel_id"] == channels[1] and r["attempts"] > 1]
    assert len(retried) == 1, "exactly one delivery of the failing channel was tried again"
    for hook in hooks:
        received = _titles(fast_fake, hook)
        # A timeout after Discord posted may post that one message twice (recorded as maybe_duplicated).
        assert list(dict.fromkeys(received)) == titles
        assert len(received) - len(titles) <= (1 if failure == "read timeout" else 0)


class FlakyDatabase:
    """The engine's way to Postgres, failing the next transactions of one thread (a dropped
    connection, a failover) while every other thread carries on."""

    def __init__(self, pool: ConnectionPool[Any]) -> None:
        self._pool = pool
        self._failures = threading.local()

    def fail_next_in_this_thread(self, count: int) -> None:
        self._failures.count = count

    def __call__(self) -> AbstractContextManager[psycopg.Connection[Any]]:
        left = getattr(self._failures, "count", 0)
        if left:
            self._failures.count = left - 1
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return service_tx(pool=self._pool)


class TripwireClient(DiscordClient):
    """Posts normally; right after the `after`-th post to `webhook_id` is answered, the database
    fails that sender's next `count` transactions (the attempt's record among them)."""

    def __init__(self, api_base: str, database: FlakyDatabase, webhook_id: str, *, after: int, count: int) -> None:
        super().__init__(api_base)
        self._database = database
        self._webhook_id = webhook_id
        self._after = after
        self._count = count
        self._posts = 0
        self._lock = threading.Lock()

    def execute(self, ref: WebhookRef, payload: dict[str, Any]) -> ExecuteResult:
        result = super().execute(ref, payload)
        if ref.webhook_id == self._webhook_id:
            with self._lock:
                self._posts += 1
                trip = self._posts == self._after
            if trip:
                self._database.fail_next_in_this_thread(self._count)
        return result


@pytest.mark.parametrize(
    ("failing_transactions", "duplicates"),
    [
        pytest.param(1, 0, id="record fails once"),
        pytest.param(RECORD_TRIES, 1, id="record never written"),
    ],
)
def test_a_database_failure_mid_attempt_never_leaves_the_channel_without_a_sender(
    failing_transactions: int,
    duplicates: int,
    fast_fake: FakeDiscord,
    admin: Admin,
    add_channel: AddChannel,
    enqueue: Enqueue,
    service_pool: ConnectionPool[Any],
    db: Any,
) -> None:
    hooks, channels, titles, ids = _stream(fast_fake, admin, add_channel, enqueue)
    database = FlakyDatabase(service_pool)
    client = TripwireClient(fast_fake.api_base, database, hooks[1], after=5, count=failing_transactions)
    # A lease longer than the local sender's pause after an error, so only a sender that watches
    # the claim run out (not the sweeper, off here as in the benchmark) can pick the delivery up.
    lease_s = 8.0
    engine = DeliveryEngine(client, policy=FAST_POLICY, tx=database, lease_s=lease_s)
    queue = LocalQueue()
    stop = start_local_worker(engine=engine, queue=queue, senders=2, sweep_every_s=3600)
    try:
        for channel in channels:
            queue.send(channel)
        took = _wait_until_sent(db, ids, within_s=lease_s + WITHIN_S)
    finally:
        stop()
    rows = delivery_rows(db, ids)
    unsent = [(r["channel_id"], r["status"], r["attempts"], r["last_error"]) for r in rows if r["status"] != "sent"]
    assert not unsent, f"after {took:.1f} s: {unsent}"
    for hook in hooks:
        received = [m.payload["embeds"][0]["title"] for m in fast_fake.messages(hook)]
        assert list(dict.fromkeys(received)) == titles
        assert len(received) - len(titles) == (duplicates if hook == hooks[1] else 0)
    # A post whose result was never recorded is posted again, and says so.
    assert sum(r["maybe_duplicated"] for r in rows) == duplicates
