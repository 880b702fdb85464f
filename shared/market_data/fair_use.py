"""Fair use of the market routes: each admin gets so many requests a minute, so one runaway tab cannot
spend the plan's Massive budget for everyone. A counter per admin and clock minute, in Postgres, so
every Lambda container counts together."""

from __future__ import annotations

import math
from dataclasses import dataclass
from uuid import UUID

import psycopg


@dataclass(frozen=True)
class Allowance:
    """This request's place in its minute: allowed or not, and the seconds until the next minute."""

    allowed: bool
    used: int
    limit: int
    retry_after_s: int


def take(conn: psycopg.Connection[dict[str, object]], user_id: UUID, limit: int) -> Allowance:
    """Count one request of `user_id` in the current minute (the caller's transaction)."""
    row = conn.execute(
        "insert into honeydrip.market_fair_use (user_id, minute) values (%s, date_trunc('minute', clock_timestamp()))"
        " on conflict (user_id, minute) do update set requests = market_fair_use.requests + 1"
        " returning requests,"
        " extract(epoch from date_trunc('minute', clock_timestamp()) + interval '1 minute' - clock_timestamp())"
        "   as left_s",
        (user_id,),
    ).fetchone()
    assert row is not None
    conn.execute(
        "delete from honeydrip.market_fair_use"
        " where user_id = %s and minute < clock_timestamp() - interval '2 minutes'",
        (user_id,),
    )
    used = int(str(row["requests"]))
    return Allowance(used <= limit, used, limit, max(1, math.ceil(float(str(row["left_s"])))))
