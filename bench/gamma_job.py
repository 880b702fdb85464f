"""One gamma snapshot of a 20,000-contract SPX chain, phase by phase, as the `gamma` job runs it.

    .venv/bin/python bench/gamma_job.py [--admin-url postgresql://postgres@127.0.0.1:5432/test]
                                        [--contracts 20000] [--repeat 5]

Phases: fetch (every 250-contract page from the fake Massive REST server on loopback, JSON and
pydantic parsing included), build the Chain arrays, compute the three views (unit check, per-strike
sums, walls, max pain, 60-level zero-gamma profiles), upsert the three rows (a scratch database on
the server of `--admin-url`, dropped at the end), and draw the chart (first call, with matplotlib's
import, then warm). Medians of `--repeat` runs; it prints Markdown rows for `docs/benchmarks.md`.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import orjson  # noqa: E402
import psycopg  # noqa: E402
from psycopg.rows import dict_row  # noqa: E402

from shared.db.migrations import migrate  # noqa: E402
from shared.gamma.snapshot import build_chain, snapshot  # noqa: E402
from shared.gamma.store import upsert_snapshots  # noqa: E402
from shared.market import calendar  # noqa: E402
from shared.massive.rest import MassiveRest, RateLimitBudget, RetryPolicy  # noqa: E402
from tests.fakes.massive_rest import FakeMassiveRestServer, synthetic_chain  # noqa: E402
from tests.scratch_database import scratch_database  # noqa: E402

SPOT = 6000.0


def timed(action: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """Median seconds of `repeat` calls, and the last call's result."""
    times, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = action()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> int:
    parser = argparse.ArgumentParser()
    default_url = os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--admin-url", default=default_url)
    parser.add_argument("--contracts", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    now = datetime.now(UTC)
    today = now.astimezone(calendar.NEW_YORK).date()
    with scratch_database(args.admin_url, "hd_bench") as url:
        with psycopg.connect(url) as conn:
            migrate(conn)
        with FakeMassiveRestServer() as server:
            server.fake.chains["I:SPX"] = synthetic_chain("I:SPX", SPOT, args.contracts, today=today)
            client = MassiveRest(server.url, "test-key", retry=RetryPolicy(budget=RateLimitBudget(0)),
                                 rng=random.Random(1))
            fetch_s, contracts = timed(lambda: client.option_chain("SPX"), args.repeat)
            pages = len(server.fake.requests_to("/v3/snapshot/options/I:SPX")) // args.repeat
            client.close()
        build_s, arrays = timed(lambda: build_chain(contracts, now), args.repeat)
        views_s, records = timed(
            lambda: snapshot("I:SPX", arrays, SPOT, taken_at=now, interval_s=300), args.repeat
        )

        def upsert() -> None:
            with psycopg.connect(url, row_factory=dict_row) as conn, conn.transaction():
                conn.execute("select set_config('role', 'service_role', true)")
                upsert_snapshots(conn, records)

        upsert_s, _ = timed(upsert, args.repeat)
        from shared.gamma.chart import render

        row = {**records[0].model_dump(), "symbol": "I:SPX"}
        first_chart_s, _ = timed(lambda: render(row), 1)
        chart_s, png = timed(lambda: render(row), args.repeat)
        with psycopg.connect(args.admin_url) as admin:
            version = admin.execute("show server_version").fetchone()
        json_kb = [len(orjson.dumps(r.strikes)) / 1024 for r in records]
        rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        total = fetch_s + build_s + views_s + upsert_s
        print(f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
              f"PostgreSQL {version[0] if version else '?'}; {args.contracts:,} contracts, {pages} pages, "
              f"{len(arrays.chain.strike):,} placed; median of {args.repeat}")
        print()
        print("| phase | ms |")
        print("|---|---|")
        print(f"| fetch every page over loopback (HTTP + JSON + pydantic) | {fetch_s * 1000:.0f} |")
        print(f"| build the Chain arrays | {build_s * 1000:.0f} |")
        print(f"| three views (unit check, sums, walls, max pain, zero gamma ×3) | {views_s * 1000:.0f} |")
        print(f"| upsert the three rows | {upsert_s * 1000:.0f} |")
        print(f"| **one symbol, fetch to stored** | **{total * 1000:.0f}** |")
        print(f"| draw the chart, first (imports matplotlib; done by the job) | {first_chart_s * 1000:.0f} |")
        print(f"| draw the chart, warm ({len(png) / 1024:.0f} KB) | {chart_s * 1000:.0f} |")
        print()
        print(f"Per-strike JSON per row (all / nearest / 30d): {' / '.join(f'{kb:.0f} KB' for kb in json_kb)}; "
              f"peak RSS {rss_mb:.0f} MB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
