"""Nothing impossible is stored or answered: ingest refuses it, the tables refuse it, the API stays JSON."""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Blueprint
from flask.testing import FlaskClient

from shared.bars.freshness import STALL_AFTER, stall_reason
from shared.bars.store import ms_to_datetime
from shared.config import Settings
from shared.db.migrations import MIGRATIONS_DIR, migrate
from tests.conftest import Admin
from tests.fakes.massive_rest import FakeMassiveRest, minute_bars
from tests.scratch_database import scratch_database

WEDNESDAY_NOON = datetime(2026, 12, 2, 17, 0, tzinfo=UTC)  # 12:00 New York, in the session
SATURDAY = datetime(2026, 12, 5, 17, 0, tzinfo=UTC)
FRIDAY_CLOSE = datetime(2026, 12, 4, 21, 0, tzinfo=UTC)  # 16:00 New York


def strict_loads(text: str) -> Any:
    """json.loads as a browser's JSON.parse: NaN and Infinity are not JSON."""

    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    return json.loads(text, parse_constant=refuse)


def impossible(t: int) -> list[dict[str, Any]]:
    return [
        {"t": t, "o": math.nan, "h": 11.0, "l": 10.0, "c": 10.5, "v": 100},
        {"t": t + 60_000, "o": 10.0, "h": math.inf, "l": 10.0, "c": 10.5, "v": 100},
        {"t": t + 120_000, "o": 10.5, "h": 10.0, "l": 11.0, "c": 10.5, "v": 100},  # high below low
        {"t": t + 180_000, "o": "10.5", "h": 11.0, "l": 10.0, "c": 10.5, "v": 100},  # a string number
        {"t": t + 240_000, "o": 10.5, "h": 11.0, "l": 10.0, "c": 10.5, "v": -100},
    ]


def test_an_ingest_run_stores_only_possible_bars_and_its_heartbeat_counts_the_refused(
    settings: Settings, db: psycopg.Connection[Any], massive_env: FakeMassiveRest, client: FlaskClient, admin: Admin
) -> None:
    from functions.jobs.ingest import run

    start = (int(time.time()) - 3600) // 60 * 60_000  # an hour ago, on the minute
    massive_env.add_bars("QQQ", 1, "minute", minute_bars(start, 3) + impossible(start + 180_000))
    result = run(force=True, symbols=["QQQ"])
    assert result.status == "ok"
    stored = db.execute("select count(*) from historical_bars where symbol = 'QQQ' and timeframe = '1m'").fetchone()
    assert stored == (3,)
    heartbeat = db.execute("select counts from job_heartbeats where job = 'ingest'").fetchone()
    assert heartbeat is not None and heartbeat[0]["refused"] == 5
    response = client.get(f"/api/bars/QQQ?timeframe=1m&from={start}&to={start + 3_600_000}", headers=admin.headers)
    assert response.status_code == 200
    assert len(strict_loads(response.get_data(as_text=True))["bars"]) == 3


@pytest.mark.parametrize(
    ("o", "h", "l", "c", "v"),
    [
        ("NaN", 11, 10, 10.5, 1),
        (10.5, "Infinity", 10, 10.5, 1),
        (10.5, 10, 11, 10.5, 1),
        (12, 11, 10, 10.5, 1),
        (10.5, 11, 10, 10.5, -1),
        (-1, 11, -2, 10.5, 1),
    ],
)
def test_the_bars_table_refuses_an_impossible_bar_from_any_writer(
    db: psycopg.Connection[Any], o: Any, h: Any, l: Any, c: Any, v: Any  # noqa: E741
) -> None:
    with pytest.raises(psycopg.errors.CheckViolation, match="historical_bars_possible"):
        db.execute(
            "insert into historical_bars (symbol, timeframe, ts, o, h, l, c, v)"
            " values ('SPY', '1m', now(), %s::float8, %s::float8, %s::float8, %s::float8, %s::float8)",
            (str(o), str(h), str(l), str(c), str(v)),
        )


@pytest.mark.parametrize("column", ["net_gex", "call_gex", "zero_gamma", "max_pain"])
def test_the_gamma_table_refuses_a_non_finite_figure(db: psycopg.Connection[Any], column: str) -> None:
    with pytest.raises(psycopg.errors.CheckViolation, match="gamma_snapshots_finite"):
        db.execute(
            "insert into gamma_snapshots (symbol, view, bucket, taken_at, spot, net_gex, call_gex, put_gex,"
            " contracts, contracts_without_greeks, contracts_without_open_interest, strikes)"
            " values ('SPY', 'all', now(), now(), 600, 1, 1, 0, 1, 0, 0, '{}'::jsonb)",
        )
        db.execute(f"update gamma_snapshots set {column} = 'NaN'::float8")  # noqa: S608 - a fixed column name


def test_every_answer_is_strict_json_even_when_a_figure_is_not_finite(settings: Settings) -> None:
    from functions.web.app import create_app

    bp = Blueprint("figures", __name__)

    @bp.get("/figures")
    def figures() -> dict[str, Any]:
        return {"net_gex": math.nan, "levels": [1.5, math.inf, -math.inf], "name": "SPY"}

    response = create_app([bp]).test_client().get("/figures")
    assert strict_loads(response.get_data(as_text=True)) == {"net_gex": None, "levels": [1.5, None, None],
                                                             "name": "SPY"}


# ------------------------------------------------------------------ a future bar never stops a symbol


def test_a_bar_stored_in_the_future_does_not_become_where_the_next_fetch_starts(
    settings: Settings, db: psycopg.Connection[Any], massive_env: FakeMassiveRest
) -> None:
    from functions.jobs.ingest import run

    start = (int(time.time()) - 3600) // 60 * 60_000
    db.execute(
        "insert into historical_bars (symbol, timeframe, ts, o, h, l, c, v) values"
        " ('QQQ', '1m', %s, 10, 11, 10, 10.5, 1), ('QQQ', '1m', '2100-01-01T00:00Z', 10, 11, 10, 10.5, 1)",
        (ms_to_datetime(start),),
    )
    db.execute("insert into ingestion_queue (symbol, status) values ('QQQ', 'done')")
    db.execute("insert into watchlist (user_id, symbol) values (gen_random_uuid(), 'QQQ')")
    massive_env.add_bars("QQQ", 1, "minute", minute_bars(start, 30))
    run(force=True)
    minutes = massive_env.requests_to("/v2/aggs/ticker/QQQ/range/1/minute")
    asked_from = [int(seen.path.split("/")[8]) for seen in minutes]
    assert asked_from == [start]
    newest = db.execute("select max(ts) from historical_bars where symbol = 'QQQ' and ts < '2100-01-01'").fetchone()
    assert newest == (ms_to_datetime(start + 29 * 60_000),)


def test_health_names_a_symbol_holding_a_future_bar_as_stalled(
    client: FlaskClient, db: psycopg.Connection[Any]
) -> None:
    db.execute("insert into ingestion_queue (symbol, status) values ('QQQ', 'done')")
    db.execute(
        "insert into historical_bars (symbol, timeframe, ts, o, h, l, c, v) values"
        " ('QQQ', '1m', now() - interval '1 minute', 10, 11, 10, 10.5, 1),"
        " ('QQQ', '1m', '2100-01-01T00:00Z', 10, 11, 10, 10.5, 1)"
    )
    body = client.get("/api/health").get_json()
    assert body["status"] == "degraded"
    (stalled,) = body["checks"]["jobs"]["ingestion_stalled"]
    assert stalled["symbol"] == "QQQ" and "2100-01-01" in stalled["reason"]


def test_in_a_session_a_symbol_two_hours_behind_is_stalled_and_one_minute_behind_is_not() -> None:
    assert stall_reason(WEDNESDAY_NOON - timedelta(minutes=1), None, WEDNESDAY_NOON) is None
    reason = stall_reason(WEDNESDAY_NOON - STALL_AFTER - timedelta(minutes=1), None, WEDNESDAY_NOON)
    assert reason is not None and "2.0 h behind" in reason


def test_on_a_weekend_a_symbol_is_kept_up_when_it_reaches_fridays_close() -> None:
    assert stall_reason(FRIDAY_CLOSE - timedelta(minutes=1), None, SATURDAY) is None
    assert stall_reason(FRIDAY_CLOSE - timedelta(hours=3), None, SATURDAY) is not None


def test_a_backfilled_symbol_without_a_single_minute_bar_is_stalled() -> None:
    assert stall_reason(None, None, WEDNESDAY_NOON) == "no minute bars stored"


# ------------------------------------------------------------------ migration 0013 clears what came before


@pytest.fixture
def before_0013(postgres_admin_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.name < "0013":
            shutil.copy(path, folder / path.name)
    with scratch_database(postgres_admin_url, "hd_possible") as url:
        with psycopg.connect(url) as conn:
            migrate(conn, directory=folder)
        yield url, folder


def test_migration_0013_removes_impossible_and_future_rows_and_keeps_the_rest(
    before_0013: tuple[str, Path],
) -> None:
    url, _ = before_0013
    # Dates long past (2020) and far ahead (2100): the test holds at any instant the suite runs at.
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "insert into honeydrip.historical_bars (symbol, timeframe, ts, o, h, l, c, v) values"
            " ('SPY', '1m', '2020-06-01T15:00Z', 10, 11, 10, 10.5, 1),"
            " ('SPY', '1m', '2020-06-01T15:01Z', 'NaN', 11, 10, 10.5, 1),"
            " ('SPY', '1m', '2020-06-01T15:02Z', 10, 9, 11, 10.5, 1),"
            " ('SPY', '1m', '2100-01-01T00:00Z', 10, 11, 10, 10.5, 1)"
        )
        conn.execute(
            "insert into honeydrip.gamma_snapshots (symbol, view, bucket, taken_at, spot, net_gex, call_gex, put_gex,"
            " contracts, contracts_without_greeks, contracts_without_open_interest, strikes) values"
            " ('SPY', 'all', '2020-06-01T15:00Z', '2020-06-01T15:00Z', 600, 1, 1, 0, 1, 0, 0, '{}'),"
            " ('SPY', 'all', '2020-06-01T15:05Z', '2020-06-01T15:05Z', 600, 'NaN', 'Infinity', 0, 1, 0, 0, '{}')"
        )
        migrate(conn)
        bars = conn.execute("select ts from honeydrip.historical_bars").fetchall()
        snapshots = conn.execute("select bucket from honeydrip.gamma_snapshots").fetchall()
    assert bars == [(datetime(2020, 6, 1, 15, 0, tzinfo=UTC),)]
    assert snapshots == [(datetime(2020, 6, 1, 15, 0, tzinfo=UTC),)]
