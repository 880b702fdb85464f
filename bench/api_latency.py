"""API latency: `POST /api/trades/<id>/actions` (alert to one channel, delivery excluded) and
`GET /api/trades` over 1,000 trades, beside the same SQL run bare. (Cold imports: bench/cold_start.py.)

    .venv/bin/python bench/api_latency.py [--admin-url postgresql://postgres@127.0.0.1:5432/test] [--runs 300]

It creates a scratch database on the server of `--admin-url` (default: DATABASE_URL, else the
local PG on 127.0.0.1:5432), migrates it, measures in-process through Flask's test client (no
network), prints a Markdown report and drops the database.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from tests.scratch_database import scratch_database  # noqa: E402

TRADES = 1000
JWT_SECRET = "bench-secret-" + uuid.uuid4().hex


def percentiles(samples_ms: list[float]) -> tuple[float, float]:
    """p50 and p99 of the samples, in ms."""
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    return statistics.median(samples_ms), cuts[98]


def timed(run: Callable[[], Any], runs: int, warmup: int = 20) -> list[float]:
    for _ in range(warmup):
        run()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def machine() -> str:
    cpu = ""
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        cpu = next((ln.split(":", 1)[1].strip() for ln in lscpu.splitlines() if ln.startswith("Model name")), "")
    except (OSError, subprocess.CalledProcessError):
        pass
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        kb = int(meminfo.read_text().split()[1])
        memory = f"{kb / 1024 / 1024:.0f} GB"
    with psycopg.connect(os.environ["DATABASE_URL"]) as conn:
        row = conn.execute("show server_version").fetchone()
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {memory} RAM, Python {platform.python_version()}, "
        f"PostgreSQL {row[0] if row else '?'} on 127.0.0.1"
    )


def seed(url: str, user_id: uuid.UUID) -> tuple[uuid.UUID, list[uuid.UUID]]:
    """A channel and 1,000 trades (every 10th entered, the rest loaded) for one admin."""
    with psycopg.connect(url, options="-c search_path=honeydrip") as conn:
        channel = conn.execute(
            "insert into discord_channels (user_id, name, webhook_id, webhook_token) values (%s, 'bench',"
            " '1234567890123456789', 'token') returning id",
            (user_id,),
        ).fetchone()
        assert channel is not None
        entered: list[uuid.UUID] = []
        with conn.cursor() as cur:
            for i in range(TRADES):
                is_entered = i % 10 == 0
                row = cur.execute(
                    "insert into trades (user_id, ticker, contract, underlying, strike, expiry, side, trade_type,"
                    " state, current_price, target_price, stop_loss, entry_price, entered_at, loaded_at, created_at)"
                    " values (%s, 'SPY', 'O:SPY261218C00650000', 'SPY', 650, '2026-12-18', 'call', 'LEAP', %s,"
                    " 1.2, 2.4, 0.6, %s, %s, now(), now() - make_interval(secs => %s)) returning id",
                    (
                        user_id,
                        "entered" if is_entered else "loaded",
                        1.2 if is_entered else None,
                        "now()" if is_entered else None,
                        i,
                    ),
                ).fetchone()
                assert row is not None
                if is_entered:
                    entered.append(row[0])
        return channel[0], entered


BARE_ACTION = [
    ("select * from trades where id = %(trade)s for update", True),
    ("update trades set current_price = 1.3, updated_at = now(), version = version + 1 where id = %(trade)s", False),
    ("insert into trade_updates (trade_id, type, price) values (%(trade)s, 'update', 1.3) returning id", True),
    (
        ("insert into alerts (trade_id, action, payload, fields, channel_ids) values (%(trade)s, 'update',"
        " '{\"embeds\": []}', '{}', array[%(channel)s::uuid]) returning id"),
        True,
    ),
    (
        ("select id, name, is_active, last_error from discord_channels where id = any(array[%(channel)s::uuid])"
        " for key share"),
        True,
    ),
    (
        ("insert into alert_deliveries (alert_id, channel_id, channel_name, payload) select id, %(channel)s, 'bench',"
        " payload from alerts where trade_id = %(trade)s order by seq desc limit 1 returning id"),
        True,
    ),
    ("select channel_id from trade_channels where trade_id = %(trade)s", True),
]
BARE_LIST = [
    ("select * from trades order by created_at desc, id desc limit 51", True),
    ("select trade_id, channel_id from trade_channels where trade_id = any(%(ids)s)", True),
]


def bare(url: str, claims: str, statements: list[tuple[str, bool]], params: dict[str, Any]) -> Callable[[], None]:
    conn = psycopg.connect(url, autocommit=False)

    def run() -> None:
        with conn.transaction():
            conn.execute(
                "select set_config('role', 'authenticated', true), set_config('request.jwt.claims', %s, true),"
                " set_config('search_path', 'honeydrip', true)",
                (claims,),
            )
            for statement, returns in statements:
                cursor = conn.execute(statement.encode(), params)
                if returns:
                    cursor.fetchall()

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--admin-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    with scratch_database(args.admin_url, "hd_bench") as url:
        os.environ.update(DATABASE_URL=url, SUPABASE_JWT_SECRET=JWT_SECRET, LOG_LEVEL="WARNING", DB_POOL_MAX_SIZE="4")
        try:
            from shared.db.migrations import migrate

            with psycopg.connect(url) as conn:
                migrate(conn)
            report(url, args.runs)
        finally:
            from shared.db import reset_for_tests

            reset_for_tests()


def report(url: str, runs: int) -> None:
    import orjson

    from functions.api import all_blueprints
    from functions.api.trades.routes import DISPATCH_KEY
    from functions.web.app import create_app
    from shared.auth import TokenVerifier, mint_token
    from shared.logs import configure_logging

    configure_logging("WARNING", "text")
    user_id = uuid.uuid4()
    token = mint_token(JWT_SECRET, user_id, ttl_s=3600)
    claims = orjson.dumps(TokenVerifier(JWT_SECRET, None).verify(token).claims).decode()
    channel, entered = seed(url, user_id)
    app = create_app(all_blueprints())
    # Delivery excluded: the deliveries are written and committed, nobody posts them.
    app.config[DISPATCH_KEY] = lambda ids: None
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    targets = iter(entered * (runs // len(entered) + 2))

    def act() -> None:
        response = client.post(
            f"/api/trades/{next(targets)}/actions",
            json={"action": "update", "price": "1.30", "alert": {"send": True, "channel_ids": [str(channel)]}},
            headers=headers,
        )
        assert response.status_code == 200, response.get_json()

    def list_page() -> None:
        response = client.get("/api/trades", headers=headers)
        assert response.status_code == 200 and len(response.get_json()["trades"]) == 50

    bare_action = bare(url, claims, BARE_ACTION, {"trade": entered[0], "channel": channel})
    with psycopg.connect(url, options="-c search_path=honeydrip") as conn:
        ids = [r[0] for r in conn.execute("select id from trades order by created_at desc limit 50").fetchall()]
    bare_list = bare(url, claims, BARE_LIST, {"ids": ids})

    rows = []
    for label, api_call, bare_call in (
        ("POST /api/trades/<id>/actions (update + alert to 1 channel)", act, bare_action),
        (f"GET /api/trades (first page of 50, {TRADES} trades)", list_page, bare_list),
    ):
        api_p50, api_p99 = percentiles(timed(api_call, runs))
        sql_p50, sql_p99 = percentiles(timed(bare_call, runs))
        rows.append(
            f"| {label} | {api_p50:.2f} | {api_p99:.2f} | {sql_p50:.2f} | {sql_p99:.2f} | {api_p50 / sql_p50:.1f}× |"
        )
    print(f"Command: `.venv/bin/python bench/api_latency.py --runs {runs}`\n")
    print(f"Machine: {machine()}\n")
    print("| Request | API p50 ms | API p99 ms | bare SQL p50 ms | bare SQL p99 ms | API / SQL (p50) |")
    print("|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
