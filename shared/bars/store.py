"""`historical_bars` reads and bulk upserts (COPY into a staging table, then one insert … on conflict)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg

from shared.bars.timeframes import Timeframe
from shared.massive.models import Bar

_COLUMNS = "symbol, timeframe, ts, o, h, l, c, v, vw, n"


def ms_to_datetime(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def datetime_to_ms(at: datetime) -> int:
    return int(at.timestamp() * 1000)


def upsert_bars(conn: psycopg.Connection[Any], symbol: str, timeframe: Timeframe, bars: Sequence[Bar]) -> int:
    """Store `bars` in one COPY and one statement; returns the rows inserted or changed.

    A bar already stored with the same values is left alone, so a repeated run writes nothing.
    Runs inside the caller's transaction (the staging table goes with it).
    """
    if not bars:
        return 0
    conn.execute(
        "create temp table if not exists bars_staging"
        " (like honeydrip.historical_bars including defaults) on commit delete rows"
    )
    with conn.cursor() as cur, cur.copy(f"copy bars_staging ({_COLUMNS}) from stdin") as copy:
        for bar in bars:
            copy.write_row((symbol, timeframe, ms_to_datetime(bar.t), bar.o, bar.h, bar.l, bar.c, bar.v, bar.vw, bar.n))
    changed = conn.execute(
        f"insert into honeydrip.historical_bars ({_COLUMNS})"  # noqa: S608 - fixed column list, no input
        f" select distinct on (ts) {_COLUMNS} from bars_staging order by ts"
        " on conflict (symbol, timeframe, ts) do update set"
        " o = excluded.o, h = excluded.h, l = excluded.l, c = excluded.c,"
        " v = excluded.v, vw = excluded.vw, n = excluded.n"
        " where (historical_bars.o, historical_bars.h, historical_bars.l, historical_bars.c,"
        "        historical_bars.v, historical_bars.vw, historical_bars.n)"
        "   is distinct from (excluded.o, excluded.h, excluded.l, excluded.c, excluded.v, excluded.vw, excluded.n)"
    ).rowcount
    conn.execute("truncate bars_staging")
    return max(changed, 0)


def last_bar_times(conn: psycopg.Connection[Any], symbol: str, *, before: datetime) -> dict[str, datetime]:
    """timeframe → the newest stored bar's start no later than `before`, for `symbol`.

    A bar dated in the future (stored before the edge refused them) must not become where the
    next fetch starts: "2100 → now" returns nothing, and the symbol would never update again.
    """
    rows = conn.execute(
        "select timeframe, max(ts) as last from historical_bars where symbol = %s and ts <= %s group by timeframe",
        (symbol, before),
    ).fetchall()
    return {row["timeframe"]: row["last"] for row in rows}


def read_bars(
    conn: psycopg.Connection[Any],
    symbol: str,
    timeframe: Timeframe,
    start: datetime,
    end: datetime,
    limit: int | None = None,
) -> list[dict[str, Any]]:
    """Stored bars in [start, end], oldest first; the most recent `limit` of them when there are more."""
    if limit is None:
        return conn.execute(
            "select ts, o, h, l, c, v, vw, n from historical_bars"
            " where symbol = %s and timeframe = %s and ts >= %s and ts <= %s order by ts",
            (symbol, timeframe, start, end),
        ).fetchall()
    return conn.execute(
        "select * from (select ts, o, h, l, c, v, vw, n from historical_bars"
        " where symbol = %s and timeframe = %s and ts >= %s and ts <= %s order by ts desc limit %s) newest"
        " order by ts",
        (symbol, timeframe, start, end, limit),
    ).fetchall()


def count_bars(conn: psycopg.Connection[Any], symbols: Iterable[str]) -> int:
    row = conn.execute("select count(*) as n from historical_bars where symbol = any(%s)", (list(symbols),)).fetchone()
    return int(row["n"]) if row else 0
