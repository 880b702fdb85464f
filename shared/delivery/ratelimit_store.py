"""Rate-limit state in Postgres, shared by every sender: read and written under row locks.

Times here are the database's clock (`clock_timestamp()`), not each process's: every Lambda and
worker then measures the shared windows on one clock, however far their own clocks drift.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import psycopg

from shared.discord.ratelimit import (
    RateLimitHeaders,
    RateLimitPolicy,
    RateState,
    apply_headers,
    apply_retry_after,
    earliest_start_all,
    record_start,
)

GLOBAL_KEY = "global"
_COLUMNS = "key, recent_sends, header_limit, header_window_s, bucket, blocked_until"


def webhook_key(webhook_id: str) -> str:
    return f"webhook:{webhook_id}"


def channel_key(discord_channel_id: str | None, webhook_id: str) -> str:
    """The key of the Discord channel a webhook posts to (the webhook's own when unknown)."""
    return f"channel:{discord_channel_id}" if discord_channel_id else f"channel:webhook:{webhook_id}"


@dataclass(frozen=True)
class Permit:
    """`granted` at `at`, or refused until `at`; `now` is when the database decided (same clock)."""

    granted: bool
    at: float
    now: float

    @property
    def wait_s(self) -> float:
        """How long until `at`, on any clock."""
        return max(self.at - self.now, 0.0)


def database_now(conn: psycopg.Connection[Any]) -> float:
    """The database's clock now, in epoch seconds (not the transaction's start)."""
    row = conn.execute("select extract(epoch from clock_timestamp())::float8 as now").fetchone()
    assert row is not None
    return float(row["now"] if isinstance(row, dict) else row[0])


def _state(row: dict[str, Any]) -> RateState:
    return RateState(
        key=row["key"],
        recent_sends=tuple(row["recent_sends"] or ()),
        header_limit=row["header_limit"],
        header_window_s=row["header_window_s"],
        bucket=row["bucket"],
        blocked_until=row["blocked_until"],
    )


def _lock(conn: psycopg.Connection[Any], keys: Sequence[str]) -> dict[str, RateState]:
    ordered = sorted(set(keys))
    query = f"select {_COLUMNS} from discord_rate_limits where key = any(%s) order by key for update"  # noqa: S608
    rows = conn.execute(query, (ordered,)).fetchall()
    if len(rows) < len(ordered):
        conn.execute(
            "insert into discord_rate_limits (key) select unnest(%s::text[]) on conflict (key) do nothing",
            (ordered,),
        )
        rows = conn.execute(query, (ordered,)).fetchall()
    return {row["key"]: _state(row) for row in rows}


def _save(conn: psycopg.Connection[Any], state: RateState) -> None:
    conn.execute(
        "update discord_rate_limits set recent_sends = %s, header_limit = %s, header_window_s = %s,"
        " bucket = %s, blocked_until = %s, updated_at = now() where key = %s",
        (
            list(state.recent_sends),
            state.header_limit,
            state.header_window_s,
            state.bucket,
            state.blocked_until,
            state.key,
        ),
    )


def global_blocked_until(conn: psycopg.Connection[Any]) -> float:
    """Until when a global 429 stops every send (0 when none); read without a lock."""
    row = conn.execute("select blocked_until from discord_rate_limits where key = %s", (GLOBAL_KEY,)).fetchone()
    return float(row["blocked_until"]) if row else 0.0


def try_acquire(conn: psycopg.Connection[Any], webhook: str, channel: str, policy: RateLimitPolicy) -> Permit:
    """Record a send starting now (the database's now) if the limits allow it; else say when they will."""
    states = _lock(conn, [webhook, channel])
    now = database_now(conn)
    earliest = earliest_start_all(states[webhook], states[channel], global_blocked_until(conn), policy, now)
    if earliest > now:
        return Permit(False, earliest, now)
    for key in (webhook, channel):
        _save(conn, record_start(states[key], now, policy))
    return Permit(True, now, now)


def record_answer(
    conn: psycopg.Connection[Any],
    webhook: str,
    channel: str,
    headers: RateLimitHeaders,
    retry_after_s: float | None,
    is_global: bool,
) -> None:
    """Fold a response's headers (and a 429's retry_after) into the shared state.

    Waits are counted from the database's now, a moment after the answer arrived: a little
    later than Discord's own count, never earlier.
    """
    states = _lock(conn, [webhook, channel])
    received_at = database_now(conn)
    updated_webhook = apply_headers(states[webhook], headers, received_at)
    updated_channel = states[channel]
    if retry_after_s is not None:
        updated_webhook = apply_retry_after(updated_webhook, retry_after_s, received_at)
        updated_channel = apply_retry_after(updated_channel, retry_after_s, received_at)
    if updated_webhook != states[webhook]:
        _save(conn, updated_webhook)
    if updated_channel != states[channel]:
        _save(conn, updated_channel)
    if is_global and retry_after_s is not None:
        glob = _lock(conn, [GLOBAL_KEY])[GLOBAL_KEY]
        _save(conn, apply_retry_after(glob, retry_after_s, received_at))
