"""After a commit: inline delivery within the budget, hand-off of the rest, and nothing ever lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from typing import Any

import psycopg
import pytest

from shared.db.embedded import REPO_ROOT
from shared.delivery.dispatch import dispatch_after_commit
from shared.delivery.dispatch_queue import local_queue
from shared.delivery.sweeper import sweep
from shared.local.delivery_worker import start_local_worker
from tests.delivery.conftest import AddChannel, Admin, Enqueue, MakeEngine, delivery_rows
from tests.fakes.discord import FakeDiscord


def _titles(fake: FakeDiscord, webhook_id: str) -> list[str]:
    return [m.payload["embeds"][0]["title"] for m in fake.messages(webhook_id)]


def _wait_until_sent(db: psycopg.Connection[Any], ids: list[Any], within_s: float) -> list[str]:
    deadline = time.time() + within_s
    while True:
        statuses = [row["status"] for row in delivery_rows(db, ids)]
        if set(statuses) == {"sent"} or time.time() > deadline:
            return statuses
        time.sleep(0.05)


def _handed_off(channel: Any, within_s: float) -> bool:
    """Whether `channel` reaches the head of the in-process queue (other tests' leftovers skipped)."""
    deadline = time.time() + within_s
    while time.time() < deadline:
        if local_queue().get(timeout_s=max(deadline - time.time(), 0.0)) == channel:
            return True
    return False


def test_the_usual_answer_already_says_sent(
    fake_discord: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, db: Any
) -> None:
    hooks = [fake_discord.add_webhook() for _ in range(3)]
    channels = [add_channel(admin, hook) for hook in hooks]
    ids = enqueue(admin, channels, ["ENTER SPX"])
    started = time.time()
    dispatch_after_commit(ids)
    assert time.time() - started < 2.5
    rows = delivery_rows(db, ids)
    assert [row["status"] for row in rows] == ["sent", "sent", "sent"]
    assert all(row["discord_message_id"] for row in rows)
    assert all(_titles(fake_discord, hook.id) == ["ENTER SPX"] for hook in hooks)


def test_what_the_budget_cannot_cover_is_finished_by_the_local_sender_in_order(
    fake_discord: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, db: Any
) -> None:
    hook = fake_discord.add_webhook()
    channel = add_channel(admin, hook)
    titles = [f"update {n}" for n in range(8)]
    ids = enqueue(admin, [channel], titles)
    dispatch_after_commit(ids, budget_s=0.5)
    assert [row["status"] for row in delivery_rows(db, ids)] == ["sent"] * 5 + ["pending"] * 3
    assert _handed_off(channel, within_s=3.0)
    local_queue().send(channel)
    stop = start_local_worker()
    try:
        assert _wait_until_sent(db, ids, within_s=6.0) == ["sent"] * 8
    finally:
        stop()
    assert _titles(fake_discord, hook.id) == titles
    assert fake_discord.count_429() == 0


def test_a_failed_inline_attempt_is_recorded_and_never_raised(
    fake_discord: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, db: Any
) -> None:
    hook = fake_discord.add_webhook()
    channel = add_channel(admin, hook)
    [delivery] = enqueue(admin, [channel], ["EXIT QQQ"])
    fake_discord.fail_next(hook.id, 503, count=5)
    dispatch_after_commit([delivery], budget_s=0.3)
    [row] = delivery_rows(db, [delivery])
    assert (row["status"], row["attempts"], row["last_status"]) == ("failed", 1, 503)


# The sender is a subprocess on the real clock: it cannot travel with --clock.
@pytest.mark.real_clock
def test_a_sender_killed_mid_batch_loses_nothing_and_the_sweeper_finishes(
    admin: Admin, add_channel: AddChannel, enqueue: Enqueue, make_engine: MakeEngine, db: Any, database_url: str
) -> None:
    with FakeDiscord(webhook_limit=5, webhook_window_s=0.5, channel_limit=30, channel_window_s=3.0,
                     latency_s=0.15) as fake:
        hook = fake.add_webhook()
        channel = add_channel(admin, hook)
        titles = [f"alert {n}" for n in range(10)]
        ids = enqueue(admin, [channel], titles)
        env = {**os.environ, "DATABASE_URL": database_url, "DISCORD_API_BASE": fake.api_base}
        sender = subprocess.Popen(
            [sys.executable, "-m", "tests.delivery.sender_process", str(channel), "1.0"],
            cwd=REPO_ROOT,
            env=env,
            stdout=subprocess.PIPE,
        )
        try:
            deadline = time.time() + 20
            while len(fake.messages(hook.id)) < 3 and time.time() < deadline:
                time.sleep(0.02)
            sender.send_signal(signal.SIGKILL)
            sender.wait(timeout=5)
        finally:
            if sender.poll() is None:
                sender.kill()
        assert sender.returncode == -signal.SIGKILL
        delivered_before = len(fake.messages(hook.id))
        assert 3 <= delivered_before < 10
        time.sleep(1.1)  # the dead sender's claim runs out
        report = sweep(make_engine(fake), deadline=time.time() + 10)
        assert report.channels == 1
        received = _titles(fake, hook.id)
    assert [row["status"] for row in delivery_rows(db, ids)] == ["sent"] * 10
    assert list(dict.fromkeys(received)) == titles
    assert len(received) - len(titles) <= 1
