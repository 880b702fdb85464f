"""Fixtures for the delivery tests: admins, channels on the fake Discord, engines, deliveries."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from shared.db import service_tx, user_tx
from shared.db.pool import connect_kwargs
from shared.delivery.engine import DeliveryEngine
from shared.delivery.outbox import enqueue_deliveries
from shared.discord.client import DiscordClient
from shared.discord.ratelimit import RateLimitPolicy, WindowLimit
from tests.conftest import Admin
from tests.fakes.discord import FakeDiscord, FakeWebhook, fake_discord

__all__ = ["Admin", "fake_discord"]

# Discord's limits scaled down 4x (webhook) and 20x (channel), so tests run in seconds.
FAST_POLICY = RateLimitPolicy(webhook=WindowLimit(5, 0.5), channel=WindowLimit(30, 3.0), margin_s=0.05)


AddChannel = Callable[..., uuid.UUID]


def insert_channel(
    owner: Admin,
    hook: FakeWebhook,
    *,
    name: str | None = None,
    default_for: list[str] | None = None,
    is_global_default: bool = False,
    active: bool = True,
) -> uuid.UUID:
    """A channel of `owner` on `hook`, written as the owner (RLS applies), without the live check."""
    with user_tx(owner.verified) as conn:
        row = conn.execute(
            "insert into discord_channels (name, webhook_id, webhook_token, guild_id, discord_channel_id,"
            " default_for, is_global_default, is_active) values (%s, %s, %s, %s, %s, %s, %s, %s) returning id",
            (
                name or f"channel {hook.id[-5:]}",
                hook.id,
                hook.token,
                hook.guild_id,
                hook.channel_id,
                default_for or [],
                is_global_default,
                active,
            ),
        ).fetchone()
    assert row is not None
    return uuid.UUID(str(row["id"]))


@pytest.fixture
def add_channel(db: psycopg.Connection[Any]) -> AddChannel:
    """`add_channel(admin, hook, name=..., default_for=[...], is_global_default=False)` → channel id."""
    return insert_channel


Enqueue = Callable[..., list[uuid.UUID]]


def message(text: str) -> dict[str, Any]:
    """A small alert-like payload whose text identifies it."""
    return {"embeds": [{"title": text, "description": "test alert", "color": 0x3498DB}]}


@pytest.fixture
def enqueue(db: psycopg.Connection[Any]) -> Enqueue:
    """`enqueue(admin, channel_ids, texts)`: one committed transaction per message, ids in order."""

    def _enqueue(owner: Admin, channel_ids: list[uuid.UUID], texts: list[str]) -> list[uuid.UUID]:
        ids: list[uuid.UUID] = []
        for text in texts:
            with user_tx(owner.verified) as conn:
                ids += enqueue_deliveries(
                    conn, user_id=owner.user_id, channel_ids=channel_ids, payload=message(text)
                )
        return ids

    return _enqueue


@pytest.fixture
def fast_fake() -> Iterator[FakeDiscord]:
    """A fake Discord enforcing FAST_POLICY's limits."""
    with FakeDiscord(webhook_limit=5, webhook_window_s=0.5, channel_limit=30, channel_window_s=3.0) as fake:
        yield fake


@pytest.fixture
def service_pool(database_url: str, db: psycopg.Connection[Any]) -> Iterator[ConnectionPool[Any]]:
    """A pool big enough for many concurrent senders in one process."""
    pool: ConnectionPool[Any] = ConnectionPool(
        database_url, min_size=0, max_size=10, kwargs=connect_kwargs(), open=True
    )
    yield pool
    pool.close()


MakeEngine = Callable[..., DeliveryEngine]


@pytest.fixture
def make_engine(service_pool: ConnectionPool[Any]) -> MakeEngine:
    """`make_engine(fake, policy=FAST_POLICY, read_timeout_s=7, lease_s=45)` → an engine on the test database."""

    def _make(
        fake: FakeDiscord,
        *,
        policy: RateLimitPolicy = FAST_POLICY,
        read_timeout_s: float = 7.0,
        lease_s: float = 45.0,
    ) -> DeliveryEngine:
        return DeliveryEngine(
            DiscordClient(fake.api_base, read_timeout_s=read_timeout_s),
            policy=policy,
            tx=lambda: service_tx(pool=service_pool),
            lease_s=lease_s,
        )

    return _make


def delivery_rows(db: psycopg.Connection[Any], ids: list[uuid.UUID]) -> list[dict[str, Any]]:
    """The deliveries as stored, in the order of `ids`."""
    with db.cursor(row_factory=psycopg.rows.dict_row) as cur:
        rows = cur.execute("select * from alert_deliveries where id = any(%s)", (ids,)).fetchall()
    by_id = {row["id"]: row for row in rows}
    return [by_id[i] for i in ids]
