"""Bar ingestion: 200,000 one-minute bars bulk-upserted (COPY into staging + one insert … on conflict),
beside the same bars inserted a row at a time, as a ratio; plus re-upserting unchanged bars.

    .venv/bin/python bench/ingest.py [--admin-url postgresql://postgres@127.0.0.1:5432/test] [--bars 200000]

It creates a scratch database on the server of `--admin-url` (default: DATABASE_URL, else the local
PG on 127.0.0.1:5432), migrates it, prints a Markdown report and drops the database. Bars go in as
the ingest job stores them: one call per (symbol, fetch) of up to 50,000 bars, as the service role.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402

from shared.bars.store import ms_to_datetime, upsert_bars  # noqa: E402
from shared.db.migrations import migrate  # noqa: E402
from shared.massive.models import Bar  # noqa: E402
from tests.scratch_database import scratch_database  # noqa: E402

PER_FETCH = 50_000
T0 = 1_735_000_000_000


def make_bars(count: int) -> list[Bar]:
    bars = []
    for i in range(count):
        base = 100 + i % 50 / 10
        bars.append(Bar(t=T0 + i * 60_000, o=base, h=base + 1, l=base - 1, c=base + 0.5, v=1000 + i, vw=base, n=12))
    return bars


def service(conn: psycopg.Connection[Any]) -> None:
    conn.execute("select set_config('role', 'service_role', true)")


def bulk(url: str, bars: list[Bar]) -> tuple[float, int]:
    written = 0
    with psycopg.connect(url, row_factory=dict_row) as conn:
        started = time.perf_counter()
        for batch, start in enumerate(range(0, len(bars), PER_FETCH)):
            with conn.transaction():
                service(conn)
                written += upsert_bars(conn, f"BULK{chr(65 + batch)}", "1m", bars[start : start + PER_FETCH])
        return time.perf_counter() - started, written


def row_at_a_time(url: str, bars: list[Bar]) -> float:
    with psycopg.connect(url) as conn:
        started = time.perf_counter()
        for batch, start in enumerate(range(0, len(bars), PER_FETCH)):
            with conn.transaction():
                service(conn)
                for bar in bars[start : start + PER_FETCH]:
                    conn.execute(
                        "insert into historical_bars (symbol, timeframe, ts, o, h, l, c, v, vw, n)"
                        " values (%s, '1m', %s, %s, %s, %s, %s, %s, %s, %s)"
                        " on conflict (symbol, timeframe, ts) do update set o = excluded.o, h = excluded.h,"
                        " l = excluded.l, c = excluded.c, v = excluded.v, vw = excluded.vw, n = excluded.n",
                        (f"ROW{chr(65 + batch)}", ms_to_datetime(bar.t), bar.o, bar.h, bar.l, bar.c, bar.v, bar.vw,
                         bar.n),
                    )
        return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser()
    default_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--admin-url", default=default_url)
    parser.add_argument("--bars", type=int, default=200_000)
    args = parser.parse_args()
    with scratch_database(args.admin_url, "hd_bench") as url:
        with psycopg.connect(url) as conn:
            migrate(conn)
        bars = make_bars(args.bars)
        bulk_s, written = bulk(url, bars)
        again_s, rewritten = bulk(url, bars)
        rows_s = row_at_a_time(url, bars)
        with psycopg.connect(args.admin_url) as admin:
            version = admin.execute("show server_version").fetchone()
        server = version[0] if version else "?"
        print(f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, PostgreSQL {server}")
        print()
        rows = [
            ("COPY + one upsert (new bars)", written, bulk_s),
            (f"COPY + one upsert (same bars again: {rewritten} rewritten)", len(bars), again_s),
            ("row at a time (one transaction per 50,000)", len(bars), rows_s),
        ]
        print("| method | bars | seconds | bars/s | vs row at a time |")
        print("|---|---|---|---|---|")
        for label, count, seconds in rows:
            print(f"| {label} | {count:,} | {seconds:.2f} | {count / seconds:,.0f} | {rows_s / seconds:.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
