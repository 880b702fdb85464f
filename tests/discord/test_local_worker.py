"""The in-process sender (as `python -m functions serve` and the benchmark run it) after a transient failure.

One failed attempt in the middle of a stream must cost that channel its backoff, not the rest of
the run: the retry is taken up when it is due, by the senders, without waiting for the sweeper.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from shared.discord.handoff import LocalQueue
from shared.discord.local_worker import start_local_worker
from tests.discord.conftest import AddChannel, Admin, Enqueue, MakeEngine, delivery_rows
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

