"""Market data: Massive requests per 100 admin requests for one chain, and the chain route's latency warm.

    .venv/bin/python bench/market_data.py [--admin-url postgresql://postgres@127.0.0.1:5432/test]
        [--clients 20] [--upstream-ms 80] [--runs 300]

A scratch database on the server of `--admin-url` (default: DATABASE_URL, else the local PG on
127.0.0.1:5432) holds the shared cache; Massive is the tests' stand-in (tests/fakes/massive_rest.py,
real HTTP on loopback) answering each page after `--upstream-ms`, a chain of 400 contracts (two pages)
for one expiration. The route runs in-process through Flask's test client, each client its own admin.
Prints a Markdown report (docs/benchmarks.md) and drops the database.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import threading
import time
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402
import requests  # noqa: E402

from tests.scratch_database import scratch_database  # noqa: E402

JWT_SECRET = "bench-secret-" + uuid.uuid4().hex
SPOT = 601.2
STRIKES = 200  # each side of the chain: 400 contracts, two of Massive's 250-contract pages
ADMIN_REQUESTS = 100


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    """p50 and p99 of the samples, in ms."""
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return statistics.median(samples_ms), cuts[98]


def machine() -> str:
    cpu = ""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        cpu = next((ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name")), "")
    except (OSError, subprocess.CalledProcessError):
        pass
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        row = conn.execute("show server_version").fetchone()
    load = os.getloadavg()[0]
    return (
        f"{os.cpu_count()} CPUs ({cpu}), Python {platform.python_version()}, "
        f"PostgreSQL {row[0] if row else '?'} on 127.0.0.1, load average {load:.1f}"
    )


def chain_of(expiration: date) -> list[dict[str, Any]]:
    from tests.fakes.massive_rest import option_contract

    contracts = []
    for i in range(STRIKES):
        strike = 500.0 + i
        for kind in ("call", "put"):
            raw = option_contract("SPY", expiration, kind, strike, spot=SPOT, iv=0.18, gamma=0.01, open_interest=100.0)
            raw["last_quote"] = {"bid": 1.0, "ask": 1.1, "midpoint": 1.05, "timeframe": "REAL-TIME"}
            contracts.append(raw)
    return contracts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--upstream-ms", type=float, default=80.0)
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    from tests.fakes.massive_rest import FakeMassiveRest, FakeMassiveRestServer

    with scratch_database(args.admin_url, "hd_bench_market") as url, FakeMassiveRestServer(FakeMassiveRest()) as fake:
        os.environ.update(
            DATABASE_URL=url, SUPABASE_JWT_SECRET=JWT_SECRET, LOG_LEVEL="WARNING", MASSIVE_REST_URL=fake.url,
            MASSIVE_API_KEY="test-key", DB_POOL_MAX_SIZE=str(args.clients + 5),
            MARKET_REQUESTS_PER_MINUTE="100000",  # the limit is not what is measured; its counter still runs
        )  # fmt: skip
        try:
            from shared.db.migrations import migrate

            with psycopg.connect(url) as conn:
                migrate(conn)
            report(fake.fake, args)
        finally:
            from shared.db import reset_for_tests

            reset_for_tests()


def report(fake: Any, args: argparse.Namespace) -> None:
    from functions.api import all_blueprints
    from functions.web.app import create_app
    from shared.auth import mint_token
    from shared.logs import configure_logging
    from shared.market import calendar

    configure_logging("WARNING", "text")
    today = datetime.now(UTC).astimezone(calendar.NEW_YORK).date()
    expiration = calendar.next_session(today)
    fake.chains["SPY"] = chain_of(expiration)
    fake.delay_s = args.upstream_ms / 1000
    app = create_app(all_blueprints())
    path = f"/api/market/options/SPY/chain?expiration={expiration}&strikes=10"
    chain_prefix = "/v3/snapshot/options/SPY"
    tokens = [mint_token(JWT_SECRET, uuid.uuid4(), ttl_s=3600) for _ in range(args.clients)]

    def upstream() -> int:
        return len([s for s in fake.requests_to(chain_prefix) if "cursor" not in s.query])

    def burst(paced_s: float) -> tuple[int, int, float]:
        """100 admin requests from the clients (each its own admin), spread over `paced_s`; upstream calls."""
        before, statuses, lock = upstream(), [], threading.Lock()
        per_client = ADMIN_REQUESTS // args.clients
        gate = threading.Barrier(args.clients)

        def client(token: str) -> None:
            web = app.test_client()
            gate.wait()
            for i in range(per_client):
                if paced_s:
                    time.sleep(paced_s / per_client if i else paced_s / per_client * (hash(token) % 100) / 100)
                status = web.get(path, headers={"Authorization": f"Bearer {token}"}).status_code
                with lock:
                    statuses.append(status)

        started = time.perf_counter()
        threads = [threading.Thread(target=client, args=(t,)) for t in tokens]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.perf_counter() - started
        assert statuses == [200] * len(statuses), sorted(set(statuses))
        return len(statuses), upstream() - before, elapsed

    # Warm the process (imports, pools, the first fetch) before anything is counted.
    web = app.test_client()
    assert web.get(path, headers={"Authorization": f"Bearer {tokens[0]}"}).status_code == 200
    time.sleep(2.5)  # past the chain's 2 s life: the burst starts on a cold cache
    rows = []
    for label, paced in (("all at once", 0.0), ("paced over 5 s", 5.0), ("paced over 10 s", 10.0)):
        made, fetched, elapsed = burst(paced)
        rows.append(f"| {made} admin requests, {args.clients} clients, {label} | {elapsed:.2f} | {fetched} |")
        time.sleep(2.5)

    # Warm latency: one admin, one request after another (a chain fetch whenever the 2 s life ends).
    headers = {"Authorization": f"Bearer {tokens[0]}"}
    before = upstream()
    samples = []
    started = time.perf_counter()
    for _ in range(args.runs):
        t0 = time.perf_counter()
        assert web.get(path, headers=headers).status_code == 200
        samples.append((time.perf_counter() - t0) * 1000)
    span = time.perf_counter() - started
    refills = upstream() - before
    route_p50, route_p99 = percentiles(samples)
    hits = sorted(samples)[: args.runs - refills]
    hit_p50, hit_p99 = percentiles(hits)

    # The stand-in's own latency: the same chain fetched straight, both pages, as the service fetches it.
    session = requests.Session()
    direct = []
    for _ in range(30):
        t0 = time.perf_counter()
        url: str | None = f"{fake.url}{chain_prefix}"
        params: dict[str, Any] | None = {"expiration_date": expiration.isoformat(), "limit": 250}
        while url:
            body = session.get(url, params=params, headers={"Authorization": "Bearer test-key"}, timeout=10).json()
            url, params = body.get("next_url"), None
        direct.append((time.perf_counter() - t0) * 1000)
    up_p50, up_p99 = percentiles(direct)

    print(
        f"Command: `.venv/bin/python bench/market_data.py --clients {args.clients} --upstream-ms {args.upstream_ms:g}"
        f" --runs {args.runs}`\n"
    )
    print(f"Machine: {machine()}\n")
    print(f"Chain: SPY, one expiration, {2 * STRIKES} contracts (2 pages); route asks 10 strikes each side.\n")
    print("| Admin requests for the same chain | seconds | Massive chain requests |")
    print("|---|---:|---:|")
    print("\n".join(rows))
    print()
    print("| Latency (ms) | p50 | p99 |")
    print("|---|---:|---:|")
    print(f"| route, warm, {args.runs} requests in {span:.1f} s ({refills} refills included) "
          f"| {route_p50:.2f} | {route_p99:.2f} |")
    print(f"| route, warm, cache hits only | {hit_p50:.2f} | {hit_p99:.2f} |")
    stand_in = f"the stand-in's chain, fetched straight (2 pages × {args.upstream_ms:g} ms)"
    print(f"| {stand_in} | {up_p50:.2f} | {up_p99:.2f} |")


if __name__ == "__main__":
    main()
