"""The delivery engine against the fake Discord: exactly once, in order, within the limits."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from shared.db import service_tx
from shared.delivery import store
from shared.delivery.engine import DeliveryEngine
from shared.delivery.sweeper import sweep
from shared.discord.client import DiscordClient
from shared.discord.errors import ChannelInactive
from shared.discord.outcome import DeliveryUpdate
from shared.discord.ratelimit import DISCORD_POLICY
from tests.conftest import OUR_SEARCH_PATH
from tests.delivery.conftest import FAST_POLICY, AddChannel, Admin, Enqueue, MakeEngine, delivery_rows
from tests.fakes.discord import FakeDiscord


def _titles(fake: FakeDiscord, webhook_id: str) -> list[str]:
    return [m.payload["embeds"][0]["title"] for m in fake.messages(webhook_id)]


def _drain_all(engine: DeliveryEngine, channels: list[uuid.UUID], *, within_s: float = 20.0) -> None:
    deadline = time.time() + within_s
    for channel in channels:
        engine.drain_channel(channel, deadline=deadline)


def _time_travel(db: psycopg.Connection[Any], ids: list[uuid.UUID]) -> None:
    """Make retries that are waiting for their backoff due now."""
    db.execute("update alert_deliveries set next_attempt_at = now() where id = any(%s)", (ids,))


def test_a_delivery_is_posted_once_and_marked_sent_with_discords_message_id(
    fast_fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, make_engine: MakeEngine, db: Any
) -> None:
    hook = fast_fake.add_webhook()
    channel = add_channel(admin, hook)
    [delivery] = enqueue(admin, [channel], ["LOAD SPY"])
    make_engine(fast_fake).drain_channel(channel, deadline=time.time() + 5)
    [row] = delivery_rows(db, [delivery])
    [accepted] = fast_fake.messages(hook.id)
    assert (row["status"], row["attempts"], row["discord_message_id"]) == ("sent", 1, accepted.message_id)
    assert accepted.payload["embeds"][0]["title"] == "LOAD SPY"


def test_two_hundred_messages_to_three_channels_from_eight_senders_arrive_once_in_order_without_429(
    fast_fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, make_engine: MakeEngine, db: Any
) -> None:
    hooks = [fast_fake.add_webhook() for _ in range(3)]
    channels = [add_channel(admin, hook) for hook in hooks]
    titles = {hook.id: [f"{hook.id[-4:]} #{n:03d}" for n in range(200 * (i + 1) // 3 - 200 * i // 3)]
              for i, hook in enumerate(hooks)}
    ids: list[uuid.UUID] = []
    for channel, hook in zip(channels, hooks, strict=True):
        ids += enqueue(admin, [channel], titles[hook.id])
    assert len(ids) == 200
    deadline = time.time() + 60

    def sender(index: int) -> None:
        engine = make_engine(fast_fake)
        order = channels[index % 3 :] + channels[: index % 3]
        while time.time() < deadline:
            for channel in order:
                engine.drain_channel(channel, deadline=deadline)
            with engine.tx() as conn:
                left = conn.execute(
                    "select count(*) as n from alert_deliveries where status <> 'sent'"
                ).fetchone()
            if left is not None and left["n"] == 0:
                return
            time.sleep(0.02)

    threads = [threading.Thread(target=sender, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=70)
    for hook in hooks:
        assert _titles(fast_fake, hook.id) == titles[hook.id]
    assert fast_fake.count_429() == 0
    assert {row["status"] for row in delivery_rows(db, ids)} == {"sent"}


def test_a_burst_of_429s_is_waited_out_not_hammered(
    fast_fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, make_engine: MakeEngine, db: Any
) -> None:
    hook = fast_fake.add_webhook()
    channel = add_channel(admin, hook)
    [delivery] = enqueue(admin, [channel], ["ENTER SPY"])
    fast_fake.rate_limit_next(hook.id, 0.3, count=3)
    engine = make_engine(fast_fake)
    deadline = time.time() + 10
    while engine.drain_channel(channel, deadline=deadline).reason != "idle" and time.time() < deadline:
        time.sleep(0.01)
    times = [s.at for s in fast_fake.seen if s.method == "POST"]
    assert fast_fake.statuses(hook.id) == [429, 429, 429, 200]
    assert all(later - earlier >= 0.3 for earlier, later in itertools.pairwise(times))
    [row] = delivery_rows(db, [delivery])
    assert (row["status"], row["attempts"]) == ("sent", 4)


def test_a_global_429_holds_every_channel_for_its_retry_after(
    fast_fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, make_engine: MakeEngine, db: Any
) -> None:
    first, second = fast_fake.add_webhook(), fast_fake.add_webhook()
    channels = [add_channel(admin, first), add_channel(admin, second)]
    enqueue(admin, [channels[0]], ["one"])
    enqueue(admin, [channels[1]], ["two"])
    fast_fake.rate_limit_next(first.id, 0.6, is_global=True)
    engine = make_engine(fast_fake)
    engine.drain_channel(channels[0], deadline=time.time() + 0.2)
    blocked_at = time.time()
    _drain_all(engine, channels, within_s=5)
    second_post = next(s.at for s in fast_fake.seen if s.webhook_id == second.id)
    assert second_post - blocked_at >= 0.4
    assert _titles(fast_fake, second.id) == ["two"]


def test_a_deleted_webhook_stops_further_sends_and_deactivates_the_channel(
    fast_fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, make_engine: MakeEngine, db: Any
) -> None:
    hook = fast_fake.add_webhook()
    channel = add_channel(admin, hook)
    ids = enqueue(admin, [channel], ["a", "b", "c"])
    fast_fake.delete_webhook(hook.id)
    make_engine(fast_fake).drain_channel(channel, deadline=time.time() + 5)
    assert fast_fake.statuses(hook.id) == [404]
    assert [row["status"] for row in delivery_rows(db, ids)] == ["dead", "dead", "dead"]
    state = db.execute("select is_active, last_error from discord_channels where id = %s", (channel,)).fetchone()
    assert state[0] is False and "webhook deleted" in state[1]
    try:
        enqueue(admin, [channel], ["d"])
    except ChannelInactive as error:
        assert "webhook deleted" in error.message
    else:
        raise AssertionError("enqueueing to an inactive channel must fail")


def test_a_refused_token_deactivates_the_channel_too(
    fast_fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, make_engine: MakeEngine, db: Any
) -> None:
    hook = fast_fake.add_webhook()
    channel = add_channel(admin, hook)
    hook.token = "rotated-token"
    ids = enqueue(admin, [channel], ["a", "b"])
    make_engine(fast_fake).drain_channel(channel, deadline=time.time() + 5)
    assert fast_fake.statuses(hook.id) == [401]
    assert [row["status"] for row in delivery_rows(db, ids)] == ["dead", "dead"]
    state = db.execute("select is_active, last_error from discord_channels where id = %s", (channel,)).fetchone()
    assert state[0] is False and "invalid webhook token" in state[1]


def test_server_errors_are_retried_with_backoff_until_delivered(
    fast_fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, make_engine: MakeEngine, db: Any
) -> None:
    hook = fast_fake.add_webhook()
    channel = add_channel(admin, hook)
    [delivery] = enqueue(admin, [channel], ["TRIM SPY"])
    fast_fake.fail_next(hook.id, 502, count=2)
    engine = make_engine(fast_fake)
    waits = []
    for _ in range(3):
        before = time.time()
        engine.drain_channel(channel, deadline=time.time() + 5)
        [row] = delivery_rows(db, [delivery])
        if row["status"] == "failed":
            waits.append(round(row["next_attempt_at"].timestamp() - before))
            _time_travel(db, [delivery])
    assert waits == [2, 4]
    assert (row["status"], row["attempts"]) == ("sent", 3)
    assert fast_fake.statuses(hook.id) == [502, 502, 200]


def test_a_failing_head_holds_back_later_messages_to_keep_the_order(
    fast_fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, make_engine: MakeEngine, db: Any
) -> None:
    hook = fast_fake.add_webhook()
    channel = add_channel(admin, hook)
    ids = enqueue(admin, [channel], ["first", "second"])
    fast_fake.fail_next(hook.id, 500)
    engine = make_engine(fast_fake)
    engine.drain_channel(channel, deadline=time.time() + 3)
    assert [row["status"] for row in delivery_rows(db, ids)] == ["failed", "pending"]
    _time_travel(db, ids[:1])
    engine.drain_channel(channel, deadline=time.time() + 3)
    assert _titles(fast_fake, hook.id) == ["first", "second"]


def test_a_400_is_dead_at_once_with_discords_message(
    fast_fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, make_engine: MakeEngine, db: Any
) -> None:
    hook = fast_fake.add_webhook()
    channel = add_channel(admin, hook)
    [delivery] = enqueue(admin, [channel], ["x" * 300])
    make_engine(fast_fake).drain_channel(channel, deadline=time.time() + 3)
    [row] = delivery_rows(db, [delivery])
    assert row["status"] == "dead"
    assert row["last_error"] == "Discord 400 (code 50035): Invalid Form Body"
    assert fast_fake.statuses(hook.id) == [400]


def test_a_timeout_after_discord_posted_is_retried_and_recorded_as_a_possible_duplicate(
    fast_fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, make_engine: MakeEngine, db: Any
) -> None:
    hook = fast_fake.add_webhook()
    channel = add_channel(admin, hook)
    [delivery] = enqueue(admin, [channel], ["EXIT SPY"])
    fast_fake.slow_next(hook.id, 0.8)
    engine = make_engine(fast_fake, read_timeout_s=0.3)
    engine.drain_channel(channel, deadline=time.time() + 3)
    [row] = delivery_rows(db, [delivery])
    assert (row["status"], row["maybe_duplicated"]) == ("failed", True)
    assert "may have been posted" in row["last_error"]
    _time_travel(db, [delivery])
    time.sleep(0.6)
    engine.drain_channel(channel, deadline=time.time() + 3)
    [row] = delivery_rows(db, [delivery])
    assert (row["status"], row["maybe_duplicated"]) == ("sent", True)
    assert _titles(fast_fake, hook.id) == ["EXIT SPY", "EXIT SPY"]


def test_a_delivery_older_than_a_day_is_dead_not_sent(
    fast_fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, make_engine: MakeEngine, db: Any
) -> None:
    hook = fast_fake.add_webhook()
    channel = add_channel(admin, hook)
    [old, new] = enqueue(admin, [channel], ["stale", "fresh"])
    db.execute("update alert_deliveries set give_up_at = now() - interval '1 second' where id = %s", (old,))
    make_engine(fast_fake).drain_channel(channel, deadline=time.time() + 3)
    assert [row["status"] for row in delivery_rows(db, [old, new])] == ["dead", "sent"]
    assert _titles(fast_fake, hook.id) == ["fresh"]


def test_the_sweeper_delivers_what_no_sender_was_told_about(
    fast_fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, make_engine: MakeEngine, db: Any
) -> None:
    hooks = [fast_fake.add_webhook() for _ in range(2)]
    channels = [add_channel(admin, hook) for hook in hooks]
    ids = enqueue(admin, channels, ["lost message"])
    report = sweep(make_engine(fast_fake), deadline=time.time() + 5)
    assert (report.channels, report.sent) == (2, 2)
    assert {row["status"] for row in delivery_rows(db, ids)} == {"sent"}


def test_discords_real_limits_are_the_default_policy() -> None:
    assert (DISCORD_POLICY.webhook.limit, DISCORD_POLICY.webhook.window_s) == (5, 2.0)
    assert (DISCORD_POLICY.channel.limit, DISCORD_POLICY.channel.window_s) == (30, 60.0)
    assert FAST_POLICY.margin_s == DISCORD_POLICY.margin_s


def test_a_channel_locked_for_a_moment_by_another_sender_is_still_drained(
    fast_fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, make_engine: MakeEngine,
    database_url: str,
) -> None:
    hook = fast_fake.add_webhook()
    channel = add_channel(admin, hook)
    enqueue(admin, [channel], ["while locked"])
    with psycopg.connect(database_url, options=OUR_SEARCH_PATH) as other:
        other.execute("select 1 from discord_channels where id = %s for no key update", (channel,))
        release = threading.Timer(0.2, other.commit)
        release.start()
        result = make_engine(fast_fake).drain_channel(channel, deadline=time.time() + 5)
        release.join()
    assert result.reason == "idle"
    assert _titles(fast_fake, hook.id) == ["while locked"]


def test_a_database_error_between_claim_and_send_gives_the_claim_back(
    fast_fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue,
    service_pool: ConnectionPool[Any], db: Any,
) -> None:
    hook = fast_fake.add_webhook()
    channel = add_channel(admin, hook)
    [delivery] = enqueue(admin, [channel], ["LOAD QQQ"])
    opened = 0

    def tx() -> Any:
        nonlocal opened
        opened += 1
        if opened == 2:  # the claim commits; taking the rate-limit permit fails
            raise psycopg.OperationalError("server closed the connection unexpectedly")
        return service_tx(pool=service_pool)

    engine = DeliveryEngine(DiscordClient(fast_fake.api_base), policy=FAST_POLICY, tx=tx)
    with pytest.raises(psycopg.OperationalError):
        engine.drain_channel(channel, deadline=time.time() + 3)
    [row] = delivery_rows(db, [delivery])
    # Not left `sending` until the lease runs out (45 s): the next sender may go at once.
    assert (row["status"], row["claimed_until"], row["attempts"], row["maybe_duplicated"]) == (
        "pending", None, 0, False
    )
    assert fast_fake.statuses(hook.id) == []
    assert engine.drain_channel(channel, deadline=time.time() + 3).reason == "idle"
    assert _titles(fast_fake, hook.id) == ["LOAD QQQ"]


def test_recording_an_attempt_twice_writes_it_once(
    fast_fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, make_engine: MakeEngine, db: Any
) -> None:
    # A record whose commit went through but whose answer was lost is written again: no harm done.
    channel = add_channel(admin, fast_fake.add_webhook())
    [delivery] = enqueue(admin, [channel], ["EXIT IWM"])
    engine = make_engine(fast_fake)
    now = time.time()
    with engine.tx() as conn:
        claim = store.claim_head(conn, channel, now=now, lease_s=45)
    assert claim.delivery is not None
    sent = DeliveryUpdate("sent", last_status=200, message_id="1234567890123456789")
    written = []
    for _ in range(2):
        with engine.tx() as conn:
            written.append(store.record_attempt(conn, claim.delivery, sent, now=now))
    [row] = delivery_rows(db, [delivery])
    assert written == [True, False]
    assert (row["status"], row["attempts"], row["discord_message_id"]) == ("sent", 1, "1234567890123456789")


def test_every_call_goes_to_discord_api_v10(
    fast_fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, make_engine: MakeEngine
) -> None:
    from shared.discord.webhook_url import WebhookRef

    hook = fast_fake.add_webhook()
    channel = add_channel(admin, hook)
    enqueue(admin, [channel], ["LOAD SPY"])
    engine = make_engine(fast_fake)
    engine.client.get_webhook(WebhookRef(hook.id, hook.token))
    engine.drain_channel(channel, deadline=time.time() + 5)
    paths = fast_fake.paths()
    assert len(paths) == 2
    assert all(path.startswith(f"/api/v10/webhooks/{hook.id}/") for path in paths)


def test_a_v10_retry_after_is_read_as_float_seconds(
    fast_fake: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, make_engine: MakeEngine, db: Any
) -> None:
    # v10 answers {"retry_after": 1.2} (seconds) and Retry-After: 1; read as milliseconds it would
    # be nothing, read as seconds of an older version's 1200 it would be 20 minutes.
    hook = fast_fake.add_webhook()
    channel = add_channel(admin, hook)
    [delivery] = enqueue(admin, [channel], ["ENTER SPY"])
    fast_fake.rate_limit_next(hook.id, 1.2)
    before = time.time()
    make_engine(fast_fake).drain_channel(channel, deadline=time.time() + 0.3)
    [row] = delivery_rows(db, [delivery])
    assert (row["status"], row["last_status"]) == ("failed", 429)
    assert 1.0 <= row["next_attempt_at"].timestamp() - before <= 1.6
