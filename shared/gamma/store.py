"""`gamma_snapshots` rows: the job's upsert (a retried run overwrites its bucket), the API's and the scanner's reads.

No numpy here: the routes that read snapshots must not pay for it at a cold start.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
import psycopg

from shared.gamma.figures import GammaFigures, GammaLevels, View

STRIKE_FIELDS = ("strike", "call_gex", "put_gex", "net_gex", "call_oi", "put_oi", "call_volume", "put_volume")
_TOTALS = (
    "spot, net_gex, call_gex, put_gex, call_wall, put_wall, zero_gamma, max_pain,"
    " contracts, contracts_without_greeks, contracts_without_open_interest, gamma_unit_ratio, gamma_scale"
)
_COLUMNS = f"symbol, view, bucket, taken_at, {_TOTALS}, strikes"


class SnapshotRecord(GammaFigures):
    """One `gamma_snapshots` row: a view of one symbol's chain at one time."""

    symbol: str
    view: View
    bucket: datetime
    taken_at: datetime
    gamma_scale: float
    strikes: dict[str, list[float]]


def bucket_of(at: datetime, interval_s: int) -> datetime:
    """`at` floored to the interval (in epoch seconds): runs within one interval share a bucket."""
    seconds = int(at.timestamp())
    return datetime.fromtimestamp(seconds - seconds % interval_s, UTC)


class NonFiniteFigures(ValueError):
    """A snapshot whose totals or levels are NaN or infinite: stored, it would break every answer showing it."""


def check_finite(record: SnapshotRecord) -> None:
    """Raise NonFiniteFigures naming the first total or level of `record` that is not a finite number."""
    for name in _TOTALS.split(","):
        value = getattr(record, name.strip())
        if isinstance(value, float) and not math.isfinite(value):
            raise NonFiniteFigures(f"{record.symbol} {record.view}: {name.strip()} is {value}; not stored")


def upsert_snapshots(conn: psycopg.Connection[Any], records: Sequence[SnapshotRecord]) -> int:
    """Store `records` in the caller's transaction; a row already in the same bucket is replaced.

    Every record is checked first (NonFiniteFigures): none of a symbol's views is stored if one is impossible.
    """
    for record in records:
        check_finite(record)
    names = [name.strip() for name in _COLUMNS.split(",")]
    updates = ", ".join(f"{name} = excluded.{name}" for name in names[2:] if name != "bucket")
    placeholders = ", ".join(["%s"] * (len(names) - 1) + ["%s::jsonb"])
    statement = (
        f"insert into honeydrip.gamma_snapshots ({_COLUMNS}) values ({placeholders})"  # noqa: S608 - fixed columns
        f" on conflict (symbol, view, bucket) do update set {updates}"
    )
    rows = [
        (
            *(getattr(record, name) for name in names[:-1]),
            orjson.dumps(record.strikes).decode(),
        )
        for record in records
    ]
    with conn.cursor() as cur:
        cur.executemany(statement, rows)
        # A replaced snapshot's chart shows the figures it replaced: the job draws it again.
        cur.executemany(
            "delete from honeydrip.gamma_charts where symbol = %s and view = %s and bucket = %s",
            [(record.symbol, record.view, record.bucket) for record in records],
        )
    return len(rows)


def latest_snapshot(conn: psycopg.Connection[Any], symbol: str, view: View) -> dict[str, Any] | None:
    """The newest snapshot of `symbol` in `view`, strikes included; None when there is none."""
    row: dict[str, Any] | None = conn.execute(
        f"select {_COLUMNS} from gamma_snapshots where symbol = %s and view = %s"  # noqa: S608 - fixed columns
        " order by taken_at desc limit 1",
        (symbol, view),
    ).fetchone()
    return row


def snapshot_history(
    conn: psycopg.Connection[Any], symbol: str, view: View, start: datetime, end: datetime, limit: int
) -> list[dict[str, Any]]:
    """Totals and levels (no strikes) from `start` to `end`, oldest first; the newest `limit` of them."""
    rows = conn.execute(
        f"select * from (select taken_at, {_TOTALS} from gamma_snapshots"  # noqa: S608 - fixed columns
        " where symbol = %s and view = %s and taken_at between %s and %s order by taken_at desc limit %s) newest"
        " order by taken_at",
        (symbol, view, start, end, limit),
    ).fetchall()
    return list(rows)


def prune_strikes(conn: psycopg.Connection[Any], older_than: datetime) -> int:
    """Drop the per-strike arrays of snapshots taken before `older_than` (totals and levels stay); the count."""
    cursor = conn.execute(
        "update honeydrip.gamma_snapshots set strikes = '{}'::jsonb where taken_at < %s and strikes <> '{}'::jsonb",
        (older_than,),
    )
    return cursor.rowcount


def latest_levels(conn: psycopg.Connection[Any], symbols: Sequence[str], since: datetime) -> dict[str, GammaLevels]:
    """symbol → the levels of its newest whole-chain (`all`) snapshot taken at or after `since`.

    A symbol without such a snapshot is absent. The other views (nearest, 30d) are not context.
    """
    if not symbols:
        return {}
    rows = conn.execute(
        "select distinct on (symbol) symbol, spot, zero_gamma, call_wall, put_wall from gamma_snapshots"
        " where symbol = any(%s) and view = 'all' and taken_at >= %s order by symbol, taken_at desc",
        (list(symbols), since),
    ).fetchall()
    return {
        row["symbol"]: GammaLevels(row["spot"], row["zero_gamma"], row["call_wall"], row["put_wall"]) for row in rows
    }


# ---------------------------------------------------------------------------------------------- charts
# Drawn by the job (shared/gamma/chart.py) and served as stored bytes: no request loads matplotlib.


def store_chart(conn: psycopg.Connection[Any], symbol: str, view: View, bucket: datetime, png: bytes) -> str:
    """Store (or replace) the chart of one snapshot; returns its ETag (the PNG's sha256, hex)."""
    etag = hashlib.sha256(png).hexdigest()
    conn.execute(
        "insert into honeydrip.gamma_charts (symbol, view, bucket, png, etag) values (%s, %s, %s, %s, %s)"
        " on conflict (symbol, view, bucket) do update set png = excluded.png, etag = excluded.etag,"
        " drawn_at = now()",
        (symbol, view, bucket, png, etag),
    )
    return etag


def snapshots_without_chart(conn: psycopg.Connection[Any], limit: int) -> list[dict[str, Any]]:
    """The newest snapshot of each symbol and view when it has no chart yet (strikes included), newest first."""
    rows = conn.execute(
        f"select {_COLUMNS} from (select distinct on (symbol, view) {_COLUMNS}"  # noqa: S608 - fixed columns
        " from honeydrip.gamma_snapshots order by symbol, view, taken_at desc) latest"
        " where not exists (select 1 from honeydrip.gamma_charts c"
        "   where c.symbol = latest.symbol and c.view = latest.view and c.bucket = latest.bucket)"
        " order by taken_at desc limit %s",
        (limit,),
    ).fetchall()
    return list(rows)


def latest_chart(conn: psycopg.Connection[Any], symbol: str, view: View) -> dict[str, Any] | None:
    """The newest drawn chart of `symbol` in `view`: png, etag, taken_at; None when none is drawn."""
    row: dict[str, Any] | None = conn.execute(
        "select c.png, c.etag, s.taken_at from honeydrip.gamma_charts c join honeydrip.gamma_snapshots s"
        " using (symbol, view, bucket) where c.symbol = %s and c.view = %s order by s.taken_at desc limit 1",
        (symbol, view),
    ).fetchone()
    return row
