"""`GET /api/gamma/<symbol>`, `/history`, `/chart.png`: any admin reads, no one writes, bad input is a 4xx."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import psycopg
import pytest
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.db import service_tx
from shared.gamma.chart import draw_missing, render
from shared.gamma.store import STRIKE_FIELDS, SnapshotRecord, upsert_snapshots
from tests.conftest import Admin, repo_path

T0 = datetime(2025, 11, 25, 15, 0, tzinfo=UTC)


def record(symbol: str = "I:SPX", view: str = "all", taken_at: datetime = T0, **changes: Any) -> SnapshotRecord:
    values: dict[str, Any] = {
        "symbol": symbol, "view": view, "bucket": taken_at, "taken_at": taken_at, "spot": 6010.0,
        "net_gex": 1_250_000_000.0, "call_gex": 2_000_000_000.0, "put_gex": -750_000_000.0,
        "call_wall": 6100.0, "put_wall": 5900.0, "zero_gamma": 5950.25, "max_pain": 6000.0,
        "contracts": 20_000, "contracts_without_greeks": 600, "contracts_without_open_interest": 200,
        "gamma_unit_ratio": 1.0, "gamma_scale": 1.0,
        "strikes": {
            "strike": [5900.0, 6100.0], "call_gex": [0.0, 2_000_000_000.0], "put_gex": [-750_000_000.0, 0.0],
            "net_gex": [-750_000_000.0, 2_000_000_000.0], "call_oi": [0.0, 5000.0], "put_oi": [4000.0, 0.0],
            "call_volume": [0.0, 10.0], "put_volume": [20.0, 0.0],
        },
    }
    values.update(changes)
    return SnapshotRecord(**values)


def store(*records: SnapshotRecord) -> None:
    with service_tx() as conn:
        upsert_snapshots(conn, records)


def store_and_draw(*records: SnapshotRecord) -> None:
    """Store snapshots and draw their charts, as one gamma run does."""
    store(*records)
    draw_missing()


def test_the_latest_snapshot_in_the_issues_shape_for_spx_or_i_spx(
    client: FlaskClient, db: psycopg.Connection[Any], admin: Admin
) -> None:
    store(record(taken_at=T0 - timedelta(minutes=5), net_gex=1.0), record(), record(view="nearest", net_gex=7.0))
    for written in ("SPX", "I:SPX", "spx", "$SPX"):
        response = client.get(f"/api/gamma/{written}", headers=admin.headers)
        assert response.status_code == 200
        snapshot = response.get_json()["snapshot"]
        age = snapshot.pop("age_s")
        assert age == pytest.approx((datetime.now(UTC) - T0).total_seconds(), abs=5)
        assert snapshot == {
            "symbol": "I:SPX", "view": "all", "taken_at": "2025-11-25T15:00:00Z", "spot": 6010.0,
            "net_gex": 1_250_000_000.0, "call_gex": 2_000_000_000.0, "put_gex": -750_000_000.0,
            "call_wall": 6100.0, "put_wall": 5900.0, "zero_gamma": 5950.25, "max_pain": 6000.0,
            "contracts": 20_000, "contracts_without_greeks": 600, "contracts_without_open_interest": 200,
            "gamma_unit_ratio": 1.0,
            "strikes": [
                {"strike": 5900.0, "call_gex": 0.0, "put_gex": -750_000_000.0, "net_gex": -750_000_000.0,
                 "call_oi": 0.0, "put_oi": 4000.0, "call_volume": 0.0, "put_volume": 20.0},
                {"strike": 6100.0, "call_gex": 2_000_000_000.0, "put_gex": 0.0, "net_gex": 2_000_000_000.0,
                 "call_oi": 5000.0, "put_oi": 0.0, "call_volume": 10.0, "put_volume": 0.0},
            ],
        }
    nearest = client.get("/api/gamma/SPX?view=nearest", headers=admin.headers).get_json()["snapshot"]
    assert (nearest["view"], nearest["net_gex"]) == ("nearest", 7.0)


def test_a_symbol_without_a_snapshot_is_a_404(client: FlaskClient, db: psycopg.Connection[Any], admin: Admin) -> None:
    store(record())
    for path in ("/api/gamma/AAPL", "/api/gamma/SPX?view=30d", "/api/gamma/AAPL/chart.png"):
        response = client.get(path, headers=admin.headers)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "not_found"


def test_the_history_is_the_totals_oldest_first_within_the_window(
    client: FlaskClient, db: psycopg.Connection[Any], admin: Admin
) -> None:
    store(*[record(taken_at=T0 + timedelta(minutes=5 * i), net_gex=float(i)) for i in range(4)],
          record(view="30d", taken_at=T0, net_gex=99.0))
    window = "from=2025-11-25T15:05:00Z&to=2025-11-25T15:15:00Z"
    body = client.get(f"/api/gamma/I:SPX/history?{window}", headers=admin.headers).get_json()
    assert (body["symbol"], body["view"], body["from"], body["to"]) == (
        "I:SPX", "all", "2025-11-25T15:05:00Z", "2025-11-25T15:15:00Z",
    )
    assert [(p["taken_at"], p["net_gex"]) for p in body["snapshots"]] == [
        ("2025-11-25T15:05:00Z", 1.0), ("2025-11-25T15:10:00Z", 2.0), ("2025-11-25T15:15:00Z", 3.0),
    ]
    assert "strikes" not in body["snapshots"][0]
    assert {"spot", "call_wall", "put_wall", "zero_gamma", "max_pain"} <= set(body["snapshots"][0])
    epoch_ms = int(T0.timestamp() * 1000)
    thirty = client.get(f"/api/gamma/SPX/history?view=30d&from={epoch_ms}&to={epoch_ms}", headers=admin.headers)
    assert [p["net_gex"] for p in thirty.get_json()["snapshots"]] == [99.0]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("from=2025-01-01&to=2025-03-01", "from"),  # over 31 days
        ("from=1970-01-01&to=2099-12-31", "from"),
        ("from=2025-11-26&to=2025-11-25", "from"),  # reversed
        ("from=99999999999999999999", "from"),
        ("from=yesterday", "from"),
        ("to=2025-02-30", "to"),
        ("to=9999-12-31T00:00:00", "to"),
        ("view=weekly", "view"),
        ("view=", "view"),
        ("limit=5", "limit"),
    ],
)
def test_a_bad_history_window_is_a_422_naming_the_field(
    client: FlaskClient, db: psycopg.Connection[Any], admin: Admin, query: str, field: str
) -> None:
    response = client.get(f"/api/gamma/SPX/history?{query}", headers=admin.headers)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["error"]["field"] == field


@pytest.mark.parametrize(
    "symbol",
    ["not%20a%20ticker", "%C5%BFpx", "I:NOPE", "A" * 300, "%00", "SPX%00", "..", "O:SPY251219C00650000",
     "%F0%9F%9A%80", "I:", "$", "SPX.", "'%20or%201=1--"],
)
def test_an_odd_symbol_is_a_4xx_never_a_5xx(
    client: FlaskClient, db: psycopg.Connection[Any], admin: Admin, symbol: str
) -> None:
    for suffix in ("", "/history", "/chart.png"):
        response = client.get(f"/api/gamma/{symbol}{suffix}", headers=admin.headers)
        assert 400 <= response.status_code < 500, (symbol, suffix, response.status_code)


def test_an_unknown_view_is_a_422(client: FlaskClient, db: psycopg.Connection[Any], admin: Admin) -> None:
    for path in ("/api/gamma/SPX?view=7d", "/api/gamma/SPX/chart.png?view=ALL", "/api/gamma/SPX?colour=red"):
        response = client.get(path, headers=admin.headers)
        assert response.status_code == 422


def test_the_chart_is_the_png_the_job_drew_of_the_latest_snapshot(
    client: FlaskClient, db: psycopg.Connection[Any], admin: Admin
) -> None:
    store_and_draw(record(taken_at=T0 - timedelta(minutes=5)))
    store_and_draw(record())
    response = client.get("/api/gamma/SPX/chart.png", headers=admin.headers)
    assert response.status_code == 200
    assert response.mimetype == "image/png"
    assert response.data.startswith(b"\x89PNG\r\n\x1a\n") and len(response.data) > 5000
    stored = db.execute("select etag from gamma_charts where bucket = %s", (T0,)).fetchone()
    assert stored is not None and response.headers["ETag"] == f'"{stored[0]}"'
    assert stored[0] == hashlib.sha256(response.data).hexdigest()
    assert response.headers["Cache-Control"] == "private, max-age=60, must-revalidate"


def test_a_client_holding_the_current_chart_gets_a_304_without_the_bytes(
    client: FlaskClient, db: psycopg.Connection[Any], admin: Admin
) -> None:
    store_and_draw(record())
    etag = client.get("/api/gamma/SPX/chart.png", headers=admin.headers).headers["ETag"]
    again = client.get("/api/gamma/SPX/chart.png", headers={**admin.headers, "If-None-Match": etag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == etag
    store_and_draw(record(taken_at=T0 + timedelta(minutes=5), net_gex=2.0, call_wall=6050.0))
    newer = client.get("/api/gamma/SPX/chart.png", headers={**admin.headers, "If-None-Match": etag})
    assert newer.status_code == 200 and newer.headers["ETag"] != etag


def test_a_snapshot_whose_chart_is_not_drawn_yet_is_a_404_chart_not_drawn(
    client: FlaskClient, db: psycopg.Connection[Any], admin: Admin
) -> None:
    store(record())
    response = client.get("/api/gamma/SPX/chart.png", headers=admin.headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "chart_not_drawn"


def test_a_snapshot_stored_without_a_chart_gets_one_on_the_jobs_next_pass(db: psycopg.Connection[Any]) -> None:
    store(record(), record(view="nearest"), record(symbol="SPY", spot=598.0))
    assert draw_missing() == (3, 0)
    assert draw_missing() == (0, 0)  # drawn once: a snapshot never changes
    assert db.execute("select count(*) from gamma_charts").fetchone() == (3,)


def test_the_same_snapshot_always_draws_the_same_bytes() -> None:
    row = record().model_dump()
    assert render(row) == render(row)


def test_a_chart_without_levels_or_strikes_still_draws(
    client: FlaskClient, db: psycopg.Connection[Any], admin: Admin
) -> None:
    empty: dict[str, list[float]] = {name: [] for name in STRIKE_FIELDS}
    store_and_draw(record(symbol="SPY", spot=598.0, call_wall=None, put_wall=None, zero_gamma=None, max_pain=None,
                          strikes=empty))
    response = client.get("/api/gamma/SPY/chart.png", headers=admin.headers)
    assert response.status_code == 200 and response.data.startswith(b"\x89PNG")


def test_every_gamma_route_needs_a_token(client: FlaskClient, db: psycopg.Connection[Any]) -> None:
    store(record())
    for path in ("/api/gamma/SPX", "/api/gamma/SPX/history", "/api/gamma/SPX/chart.png"):
        assert client.get(path).status_code == 401


def test_an_admin_reads_every_snapshot_but_never_writes_one(
    db: psycopg.Connection[Any], admin: Admin, settings: Any
) -> None:
    from shared.db import user_tx

    store(record())
    with user_tx(admin.verified) as conn:
        assert conn.execute("select count(*) as n from gamma_snapshots").fetchone() == {"n": 1}
    for statement in (
        (
            "insert into gamma_snapshots (symbol, view, bucket, taken_at, spot, net_gex, call_gex, put_gex, contracts,"
            " contracts_without_greeks, contracts_without_open_interest, strikes)"
            " values ('SPY', 'all', now(), now(), 1, 0, 0, 0, 0, 0, 0, '{}')"
        ),
        "update gamma_snapshots set net_gex = 0",
        "delete from gamma_snapshots",
        "truncate gamma_snapshots",
    ):
        try:
            with user_tx(admin.verified) as conn:
                conn.execute(statement)
        except psycopg.errors.InsufficientPrivilege:
            continue
        raise AssertionError(f"an admin could run: {statement}")


def test_the_openapi_document_describes_the_gamma_routes(client: FlaskClient) -> None:
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert paths["/api/gamma/{symbol}"]["get"]["tags"] == ["gamma"]
    assert {p["name"] for p in paths["/api/gamma/{symbol}/history"]["get"]["parameters"]} == {
        "symbol", "view", "from", "to",
    }
    assert "image/png" in paths["/api/gamma/{symbol}/chart.png"]["get"]["responses"]["200"]["content"]


def test_no_handler_but_the_gamma_job_loads_numpy_or_matplotlib_at_import() -> None:
    # A fresh interpreter per check: this test process has long since imported numpy.
    script = (
        "import importlib, sys\n"
        "from functions.api import AREAS\n"
        "jobs = ('functions.jobs.gamma', 'functions.jobs.ingest', 'functions.jobs.prewarm',"
        " 'functions.jobs.discord_send', 'functions.jobs.discord_sweeper')\n"
        "for name in (*AREAS, *jobs):\n"
        "    module = importlib.import_module(name)\n"
        "    assert callable(getattr(module, 'handler', None)) or hasattr(module, 'bp'), name\n"
        "    loaded = [m for m in ('numpy', 'matplotlib') if m in sys.modules]\n"
        "    assert not loaded, (name, loaded)\n"
        "print('clean')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=repo_path(),
                            timeout=60, check=False)
    assert result.returncode == 0 and result.stdout.strip() == "clean", result.stderr


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck))
@given(
    symbol=st.sampled_from(["SPX", "I:SPX", "spy"]) | st.text(min_size=1, max_size=40),
    route=st.sampled_from(["", "/history", "/chart.png"]),
    query=st.dictionaries(
        st.sampled_from(["view", "from", "to", "x"]),
        st.sampled_from(["all", "30d", "0", "-1", "2025-11-25", "1e400", "NaN"]) | st.text(max_size=30),
        max_size=3,
    ),
)
def test_generated_symbols_and_queries_never_get_a_5xx(
    stored_app: tuple[FlaskClient, Admin], symbol: str, route: str, query: dict[str, str]
) -> None:
    client, admin = stored_app
    path = f"/api/gamma/{quote(symbol, safe='')}{route}"
    response = client.get(path, query_string=query, headers=admin.headers)
    assert response.status_code < 500, (path, query, response.get_data(as_text=True)[:200])


@pytest.fixture
def stored_app(client: FlaskClient, db: psycopg.Connection[Any], admin: Admin) -> tuple[FlaskClient, Admin]:
    store(record())
    return client, admin


def test_a_snapshot_with_missing_per_strike_values_still_reads_and_draws(
    client: FlaskClient, db: psycopg.Connection[Any], admin: Admin
) -> None:
    nan = float("nan")
    strikes = {"strike": [590.0, 600.0, 610.0], "call_gex": [0.0, nan, 5.0], "put_gex": [-1.0, 0.0, 0.0],
               "net_gex": [-1.0, nan, float("inf")], "call_oi": [0.0, 1.0], "put_oi": [1.0, 0.0, 0.0],
               "call_volume": [0.0, 0.0, 0.0], "put_volume": [0.0, 0.0, 0.0]}
    store_and_draw(record(symbol="QQQ", spot=600.0, strikes=strikes))
    body = client.get("/api/gamma/QQQ", headers=admin.headers)
    assert body.status_code == 200
    # Stored JSON has no NaN: a missing figure reads as null, and uneven columns end at the shortest.
    assert [row["net_gex"] for row in body.get_json()["snapshot"]["strikes"]] == [-1.0, None]
    chart = client.get("/api/gamma/QQQ/chart.png", headers=admin.headers)
    assert chart.status_code == 200 and chart.data.startswith(b"\x89PNG")
