"""`GET /api/bars/<symbol>`: stored bars oldest first, `t` in epoch ms, for any signed-in admin."""

from __future__ import annotations

from typing import Any

import psycopg
from flask.testing import FlaskClient

from shared.bars.store import ms_to_datetime
from tests.conftest import Admin

T0 = 1_764_086_400_000  # 2025-11-25T16:00Z


def store(db: psycopg.Connection[Any], symbol: str, timeframe: str, count: int, step_ms: int = 300_000) -> None:
    with db.cursor() as cur:
        cur.executemany(
            "insert into historical_bars (symbol, timeframe, ts, o, h, l, c, v, vw, n)"
            " values (%s, %s, %s, 10.5, 11, 10, 10.75, 1200, 10.6, 42)",
            [(symbol, timeframe, ms_to_datetime(T0 + i * step_ms)) for i in range(count)],
        )


def test_bars_come_oldest_first_in_massives_shape(
    client: FlaskClient, db: psycopg.Connection[Any], admin: Admin
) -> None:
    store(db, "SPY", "5m", 3)
    store(db, "SPY", "1m", 2, 60_000)
    response = client.get(f"/api/bars/spy?timeframe=5m&from={T0}&to={T0 + 3_600_000}", headers=admin.headers)
    assert response.status_code == 200
    assert response.get_json() == {
        "symbol": "SPY",
        "timeframe": "5m",
        "bars": [
            {"t": T0 + i * 300_000, "o": 10.5, "h": 11.0, "l": 10.0, "c": 10.75, "v": 1200.0, "vw": 10.6, "n": 42}
            for i in range(3)
        ],
    }


def test_from_and_to_accept_dates_and_bound_the_window(
    client: FlaskClient, db: psycopg.Connection[Any], admin: Admin
) -> None:
    store(db, "I:SPX", "1h", 30, 3_600_000)  # 2025-11-25 16:00Z onward, hourly
    query = "timeframe=1h&from=2025-11-26&to=2025-11-26T05:00:00Z"
    body = client.get(f"/api/bars/SPX?{query}", headers=admin.headers).get_json()
    assert body["symbol"] == "I:SPX"
    assert [b["t"] for b in body["bars"]] == [T0 + h * 3_600_000 for h in range(8, 14)]


def test_an_unknown_timeframe_or_a_reversed_window_is_a_422_naming_the_field(client: FlaskClient, admin: Admin) -> None:
    response = client.get("/api/bars/SPY?timeframe=2m", headers=admin.headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "timeframe"
    response = client.get("/api/bars/SPY?from=2025-11-26&to=2025-11-25", headers=admin.headers)
    assert response.status_code == 422
    response = client.get("/api/bars/SPY?from=99999999999999999999", headers=admin.headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "from"


def test_a_symbol_that_is_not_a_ticker_is_a_422(client: FlaskClient, admin: Admin) -> None:
    response = client.get("/api/bars/not%20a%20ticker", headers=admin.headers)
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "symbol"


def test_bars_need_a_token(client: FlaskClient) -> None:
    assert client.get("/api/bars/SPY").status_code == 401


def test_a_user_can_read_bars_but_never_write_them(db: psycopg.Connection[Any], admin: Admin, settings: Any) -> None:
    from shared.db import user_tx

    store(db, "SPY", "5m", 1)
    with user_tx(admin.verified) as conn:
        assert conn.execute("select count(*) as n from historical_bars").fetchone() == {"n": 1}
    for statement in (
        "insert into historical_bars (symbol, timeframe, ts, o, h, l, c) values ('SPY', '1m', now(), 1, 1, 1, 1)",
        "update historical_bars set c = 0",
        "delete from historical_bars",
        "select * from ingestion_queue",
        "select * from job_heartbeats",
    ):
        try:
            with user_tx(admin.verified) as conn:
                conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            continue
        raise AssertionError(f"an admin could run: {statement}")
