"""The outbox as the trades code uses it, and what row-level security lets a user do with it."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from shared.db import user_tx
from shared.delivery.outbox import (
    channels_for_action,
    deliveries_for_alerts,
    enqueue_deliveries,
    global_default_channel,
)
from shared.discord.errors import ChannelInactive, ChannelNotFound
from tests.delivery.conftest import AddChannel, Admin, message
from tests.fakes.discord import FakeDiscord


def _count(db: psycopg.Connection[Any]) -> int:
    row = db.execute("select count(*) from alert_deliveries").fetchone()
    assert row is not None
    return int(row[0])


def test_deliveries_commit_with_the_callers_transaction(
    admin: Admin, fake_discord: FakeDiscord, add_channel: AddChannel, db: psycopg.Connection[Any]
) -> None:
    channel = add_channel(admin, fake_discord.add_webhook())
    with pytest.raises(RuntimeError), user_tx(admin.verified) as conn:
        enqueue_deliveries(conn, user_id=admin.user_id, channel_ids=[channel], payload=message("x"))
        raise RuntimeError("the alert insert failed after the deliveries were written")
    assert _count(db) == 0


def test_another_users_channel_is_not_found_and_nothing_is_written(
    admin: Admin, other_admin: Admin, fake_discord: FakeDiscord, add_channel: AddChannel, db: psycopg.Connection[Any]
) -> None:
    mine = add_channel(admin, fake_discord.add_webhook())
    theirs = add_channel(other_admin, fake_discord.add_webhook())
    with pytest.raises(ChannelNotFound) as refused, user_tx(admin.verified) as conn:
        enqueue_deliveries(conn, user_id=admin.user_id, channel_ids=[mine, theirs], payload=message("x"))
    assert refused.value.channel_id == theirs
    assert _count(db) == 0


def test_an_inactive_channel_is_refused_with_its_reason(
    admin: Admin, fake_discord: FakeDiscord, add_channel: AddChannel, db: psycopg.Connection[Any]
) -> None:
    channel = add_channel(admin, fake_discord.add_webhook())
    db.execute("update discord_channels set is_active = false, last_error = 'webhook deleted'")
    with pytest.raises(ChannelInactive) as refused, user_tx(admin.verified) as conn:
        enqueue_deliveries(conn, user_id=admin.user_id, channel_ids=[channel], payload=message("x"))
    assert refused.value.reason == "webhook deleted"


def _alert(conn: psycopg.Connection[Any]) -> uuid.UUID:
    """An alert of a loaded SPY trade (the trades area's tables), in the caller's transaction."""
    trade = conn.execute(
        "insert into trades (ticker, contract, underlying, strike, expiry, side, trade_type, state)"
        " values ('SPY', 'O:SPY251219C00650000', 'SPY', 650, '2025-12-19', 'call', 'Swing', 'loaded')"
        " returning id"
    ).fetchone()
    assert trade is not None
    alert = conn.execute(
        "insert into alerts (trade_id, action, payload) values (%s, 'load', %s) returning id",
        (trade["id"], psycopg.types.json.Jsonb(message("LOAD"))),
    ).fetchone()
    assert alert is not None
    alert_id: uuid.UUID = alert["id"]
    return alert_id


def test_deliveries_for_alerts_show_status_and_channel_but_no_secret(
    admin: Admin, fake_discord: FakeDiscord, add_channel: AddChannel
) -> None:
    hook = fake_discord.add_webhook()
    channel = add_channel(admin, hook, name="main")
    silent = uuid.uuid4()
    with user_tx(admin.verified) as conn:
        alert = _alert(conn)
        [delivery] = enqueue_deliveries(
            conn, user_id=admin.user_id, channel_ids=[channel, channel], payload=message("x"), alert_id=alert
        )
    with user_tx(admin.verified) as conn:
        found = deliveries_for_alerts(conn, [alert, silent])
    assert found[silent] == []
    [shown] = found[alert]
    assert {k: shown[k] for k in ("id", "channel_id", "channel_name", "status", "attempts")} == {
        "id": str(delivery),
        "channel_id": str(channel),
        "channel_name": "main",
        "status": "pending",
        "attempts": 0,
    }
    assert {"discord_message_id", "last_error", "sent_at"} <= shown.keys()
    assert hook.token not in str(shown) and hook.id not in str(shown)


def test_channels_for_an_action_and_the_global_default(
    admin: Admin, other_admin: Admin, fake_discord: FakeDiscord, add_channel: AddChannel
) -> None:
    loads = add_channel(admin, fake_discord.add_webhook(), name="loads", default_for=["load", "enter"])
    exits = add_channel(admin, fake_discord.add_webhook(), name="exits", default_for=["exit"], is_global_default=True)
    add_channel(other_admin, fake_discord.add_webhook(), name="theirs", default_for=["load"])
    with user_tx(admin.verified) as conn:
        assert channels_for_action(conn, admin.user_id, "load") == [loads]
        assert channels_for_action(conn, admin.user_id, "exit") == [exits]
        assert channels_for_action(conn, admin.user_id, "signal") == []
        assert global_default_channel(conn, admin.user_id) == exits
    with user_tx(other_admin.verified) as conn:
        assert global_default_channel(conn, other_admin.user_id) is None


def test_a_user_cannot_read_webhook_tokens_even_their_own(
    admin: Admin, fake_discord: FakeDiscord, add_channel: AddChannel
) -> None:
    add_channel(admin, fake_discord.add_webhook())
    with pytest.raises(psycopg.errors.InsufficientPrivilege), user_tx(admin.verified) as conn:
        conn.execute("select webhook_token from discord_channels")


def test_a_user_cannot_queue_a_delivery_to_someone_elses_channel_directly(
    admin: Admin, other_admin: Admin, fake_discord: FakeDiscord, add_channel: AddChannel
) -> None:
    theirs = add_channel(other_admin, fake_discord.add_webhook())
    with pytest.raises(psycopg.errors.InsufficientPrivilege), user_tx(admin.verified) as conn:
        conn.execute(
            "insert into alert_deliveries (channel_id, payload) values (%s, %s)",
            (theirs, psycopg.types.json.Jsonb(message("spam"))),
        )


def test_users_see_only_their_own_channels_and_deliveries(
    admin: Admin, other_admin: Admin, fake_discord: FakeDiscord, add_channel: AddChannel, enqueue: Any
) -> None:
    channel = add_channel(admin, fake_discord.add_webhook())
    enqueue(admin, [channel], ["mine"])
    with user_tx(other_admin.verified) as conn:
        assert conn.execute("select id from discord_channels").fetchall() == []
        assert conn.execute("select id from alert_deliveries").fetchall() == []
        assert conn.execute("update alert_deliveries set status = 'dead'").rowcount == 0


def test_anon_and_users_cannot_touch_the_rate_limit_state(admin: Admin, db: psycopg.Connection[Any]) -> None:
    with user_tx(admin.verified) as conn, pytest.raises(psycopg.errors.InsufficientPrivilege):
        conn.execute("select * from discord_rate_limits")
    for table in ("discord_channels", "alert_deliveries", "discord_rate_limits"):
        with db.transaction(force_rollback=True):
            db.execute("set local role anon")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                db.execute(f"select 1 from honeydrip.{table}")  # noqa: S608 - fixed table names
