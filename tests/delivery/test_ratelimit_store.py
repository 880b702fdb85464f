"""The shared rate-limit state in Postgres: windows timed by the database's clock, for every sender."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from shared.db import service_tx
from shared.delivery import ratelimit_store
from shared.discord.ratelimit import DISCORD_POLICY, RateLimitHeaders

WEBHOOK, CHANNEL = "webhook:1", "channel:1"


@pytest.fixture
def tx(service_pool: ConnectionPool[Any]) -> Iterator[Any]:
    yield lambda: service_tx(pool=service_pool)


def _db_now(db: psycopg.Connection[Any]) -> float:
    row = db.execute("select extract(epoch from clock_timestamp())::float8").fetchone()
    assert row is not None
    return float(row[0])


def test_send_times_are_the_databases_clock_whatever_the_senders_clock(tx: Any, db: psycopg.Connection[Any]) -> None:
    with tx() as conn:
        permit = ratelimit_store.try_acquire(conn, WEBHOOK, CHANNEL, DISCORD_POLICY)
    assert permit.granted
    row = db.execute("select recent_sends from discord_rate_limits where key = %s", (WEBHOOK,)).fetchone()
    assert row is not None
    assert abs(row[0][-1] - _db_now(db)) < 1.0


def test_the_sixth_send_in_two_seconds_waits_out_the_window_on_the_databases_clock(tx: Any) -> None:
    for _ in range(5):
        with tx() as conn:
            assert ratelimit_store.try_acquire(conn, WEBHOOK, CHANNEL, DISCORD_POLICY).granted
    with tx() as conn:
        refused = ratelimit_store.try_acquire(conn, WEBHOOK, CHANNEL, DISCORD_POLICY)
    assert not refused.granted
    assert 1.5 < refused.wait_s <= DISCORD_POLICY.webhook.window_s + DISCORD_POLICY.margin_s


def test_a_429s_retry_after_blocks_from_the_databases_now(tx: Any, db: psycopg.Connection[Any]) -> None:
    with tx() as conn:
        ratelimit_store.record_answer(conn, WEBHOOK, CHANNEL, RateLimitHeaders(), retry_after_s=1.5, is_global=False)
    row = db.execute("select blocked_until from discord_rate_limits where key = %s", (WEBHOOK,)).fetchone()
    assert row is not None
    assert 1.0 < row[0] - _db_now(db) <= 1.5
