"""make dev's Massive REST simulator: Massive's shapes, the relay's prices, and the jobs running on it with no key."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest
import requests

from relay.simulator import MarketModel
from shared.local.massive_simulator import MassiveSimulatorServer
from shared.market import calendar, simulated
from shared.massive.rest import MassiveRest
from tests.conftest import repo_path

# A Wednesday, 11:00 New York time: in the session, after the scripted breakout.
IN_SESSION = datetime(2026, 12, 2, 16, 0, tzinfo=UTC)
IN_SESSION_MS = int(IN_SESSION.timestamp() * 1000)


@pytest.fixture
def simulator() -> Iterator[MassiveSimulatorServer]:
    with MassiveSimulatorServer(now_ms=lambda: IN_SESSION_MS) as server:
        yield server


@pytest.fixture
def client(simulator: MassiveSimulatorServer) -> Iterator[MassiveRest]:
    rest = MassiveRest(simulator.url, "any-key")
    yield rest
    rest.close()


def test_aggregates_page_with_next_url_on_its_own_host_and_stop_at_now(simulator: MassiveSimulatorServer) -> None:
    url = f"{simulator.url}/v2/aggs/ticker/SPY/range/1/minute/2026-12-01/2026-12-02"
    pages, bars = 0, []
    query: dict[str, Any] | None = {"limit": 200}
    while url:
        body = requests.get(url, params=query, timeout=10).json()
        bars += body["results"]
        pages += 1
        url, query = body.get("next_url"), None
        assert url is None or url.startswith(simulator.url)
    # All of Tuesday's session and Wednesday's first 90 minutes, none from the future.
    assert len(bars) == 390 + 90
    assert pages == 3
    assert bars[-1]["t"] == IN_SESSION_MS - 60_000
    assert all(b["l"] <= min(b["o"], b["c"]) and b["h"] >= max(b["o"], b["c"]) and b["v"] > 0 for b in bars)


def test_the_client_reads_every_timeframe_and_the_backfill_window(client: MassiveRest) -> None:
    days = client.aggregates("SPY", 1, "day", date(2026, 9, 1), date(2026, 12, 2))
    sessions = calendar.recent_sessions(80, through=date(2026, 12, 2))
    assert len(days) == len([d for d in sessions if d >= date(2026, 9, 1)])
    hours = client.aggregates("I:SPX", 1, "hour", date(2026, 12, 1), date(2026, 12, 1))
    assert len(hours) == 7  # 9:30 to 16:00 in hour buckets
    assert all(h.v == 0 for h in hours)  # indices trade no volume


def test_the_chain_carries_greeks_iv_and_open_interest_around_spot(client: MassiveRest) -> None:
    chain = client.option_chain("I:SPX")
    spot = float(chain[0].underlying_asset["price"])  # type: ignore[index, arg-type]
    assert len(chain) > 1000
    assert all(c.greeks and c.greeks.gamma is not None and c.implied_volatility and c.open_interest is not None
               for c in chain)
    strikes = [c.details.strike_price or 0 for c in chain]
    assert min(strikes) >= spot * 0.93 and max(strikes) <= spot * 1.07
    assert {c.details.contract_type for c in chain} == {"call", "put"}


def test_the_relay_streams_the_prices_the_rest_simulator_serves(client: MassiveRest) -> None:
    snapshot = {s.ticker: s.value for s in client.index_snapshot(["SPX", "NDX"])}
    model = MarketModel(random.Random(1), path=lambda root: simulated.price_at(root, IN_SESSION_MS))
    for _ in range(200):
        model.step()
    for ticker, value in snapshot.items():
        assert value is not None
        assert model.index_level(ticker) == pytest.approx(value, rel=0.005)


def test_market_status_follows_the_exchange_calendar(simulator: MassiveSimulatorServer) -> None:
    assert requests.get(f"{simulator.url}/v1/marketstatus/now", timeout=5).json()["market"] == "open"
    with MassiveSimulatorServer(now_ms=lambda: IN_SESSION_MS + 8 * 3_600_000) as evening:
        assert requests.get(f"{evening.url}/v1/marketstatus/now", timeout=5).json()["market"] == "closed"


def run(database_url: str, rest_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "MASSIVE_API_KEY"}
    # An empty key is no key (as `.env.example` copied to `.env` leaves it).
    env.update({"DATABASE_URL": database_url, "MASSIVE_REST_URL": rest_url, "MASSIVE_API_KEY": "",
                "LOG_FORMAT": "json"})
    return subprocess.run(
        [sys.executable, "-m", "functions", "run", *args],
        capture_output=True, text=True, env=env, cwd=repo_path(), timeout=180, check=False,
    )


# Subprocesses on the real clock: the simulator serves whatever sessions have closed by now.
@pytest.mark.real_clock
def test_with_no_key_the_jobs_run_on_the_simulator_and_the_scripted_session_fires_signals(
    database_url: str, db: psycopg.Connection[Any]
) -> None:
    admin = uuid.uuid4()
    db.execute("insert into watchlist (user_id, symbol) values (%s, 'SPY')", (admin,))
    with MassiveSimulatorServer() as server:
        ingest = run(database_url, server.url, "ingest", "--force", "--symbols", "SPY")
        assert ingest.returncode == 0, ingest.stderr
        assert json.loads(ingest.stdout)["counts"]["backfilled"] == 1
        last = calendar.previous_session(datetime.now(calendar.NEW_YORK).date())
        replay = run(database_url, server.url, "scanner", "--replay", last.isoformat(), "--symbols", "SPY", "--json")
    assert replay.returncode == 0, replay.stderr
    fired = [json.loads(line) for line in replay.stdout.splitlines()]
    assert fired, replay.stderr
    assert "Traceback" not in ingest.stderr + replay.stderr
    # --store keeps them for the watchers, so /api/signals shows a past session at any hour.
    assert db.execute("select count(*) from composite_signals").fetchone() == (0,)
    stored = run(database_url, "http://127.0.0.1:9", "scanner", "--replay", last.isoformat(), "--store")
    assert stored.returncode == 0, stored.stderr
    assert "stored for the symbols' watchers" in stored.stderr
    rows = db.execute("select user_id, symbol from composite_signals").fetchall()
    assert len(rows) >= 1 and {tuple(r) for r in rows} == {(admin, "SPY")}


def test_with_no_key_and_no_simulator_a_job_says_what_to_do_in_one_line(database_url: str) -> None:
    result = run(database_url, "http://127.0.0.1:9", "ingest", "--force")
    assert result.returncode == 2
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "MASSIVE_API_KEY is not set" in lines[0] and "make dev" in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_the_market_routes_answer_from_the_simulator_without_a_key(
    app: Any, admin: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.config import get_settings

    with MassiveSimulatorServer() as live:  # on the real clock, as make dev runs it
        monkeypatch.setenv("MASSIVE_REST_URL", live.url)
        monkeypatch.delenv("MASSIVE_API_KEY", raising=False)
        get_settings.cache_clear()
        web = app.test_client()
        expirations = web.get("/api/market/options/spy/expirations", headers=admin.headers)
        assert expirations.status_code == 200, expirations.get_json()
        nearest = expirations.get_json()["expirations"][0]["date"]
        chain = web.get(f"/api/market/options/SPY/chain?expiration={nearest}&strikes=3", headers=admin.headers)
        body = chain.get_json()
        assert chain.status_code == 200 and len(body["contracts"]) == 14  # 7 strikes, a call and a put each
        atm = [c for c in body["contracts"] if c["atm"]]
        assert {c["strike"] for c in atm} == {body["atm_strike"]}
        two_sided = [c for c in body["contracts"] if c["bid"] is not None and c["ask"] is not None]
        assert two_sided and all(c["bid"] <= c["mid"] <= c["ask"] for c in two_sided)
        contract = web.get(f"/api/market/options/contracts/{atm[0]['occ']}", headers=admin.headers)
        assert contract.status_code == 200 and contract.get_json()["contract"]["occ"] == atm[0]["occ"]
        quotes = web.get("/api/market/quotes?symbols=SPY,SPX", headers=admin.headers).get_json()
        spy = quotes["quotes"][0]
        # The chain's underlying and the quote are the same simulated price path.
        assert spy["symbol"] == "SPY" and abs(spy["price"] - body["underlying_price"]) < 0.02 * spy["price"]
        assert [q["symbol"] for q in quotes["quotes"]] == ["SPY", "I:SPX"]
    get_settings.cache_clear()


def test_the_chain_honours_massives_filters(client: MassiveRest) -> None:
    everything = client.option_chain("SPY")
    nearest = min(c.details.expiration_date or "" for c in everything)
    chosen = client.option_chain(
        "SPY", contract_type="put", expiration_date=nearest, strike_price__gte=590, strike_price__lte=610
    )
    expected = [c.details.ticker for c in everything if c.details.contract_type == "put"
                and c.details.expiration_date == nearest and 590 <= (c.details.strike_price or 0) <= 610]
    assert chosen and [c.details.ticker for c in chosen] == expected


def test_a_contract_is_the_same_in_the_chain_its_own_snapshot_and_the_universal_snapshot(
    client: MassiveRest, simulator: MassiveSimulatorServer
) -> None:
    listed = client.option_chain("SPY", contract_type="call", strike_price__gte=600, strike_price__lte=600)[0]
    ticker = listed.details.ticker
    assert ticker is not None
    alone = client.option_contract("SPY", ticker)
    assert alone.model_dump() == listed.model_dump()
    universal = requests.get(f"{simulator.url}/v3/snapshot", params={"ticker.any_of": f"SPY,I:SPX,{ticker},I:ZZZ"},
                             timeout=10).json()["results"]
    assert [r["ticker"] for r in universal] == ["SPY", "I:SPX", ticker, "I:ZZZ"]
    stock, index, option, unknown = universal
    assert (stock["type"], index["type"], option["type"]) == ("stocks", "indices", "options")
    assert (option["last_quote"], option["greeks"]["theta"]) == (alone.last_quote, alone.greeks and alone.greeks.theta)
    assert unknown["error"] == "NOT_FOUND"
    # The same prices as the stocks and indices snapshots, and the chain's underlying within a minute's move.
    (spy,) = client.stock_snapshots(["SPY"])
    assert stock["last_trade"]["price"] == spy.last_price
    (spx,) = client.index_snapshot(["I:SPX"])
    assert index["value"] == spx.value
    underlying = float(listed.underlying_asset["price"])  # type: ignore[index, arg-type]
    assert abs(underlying - stock["last_trade"]["price"]) < 0.01 * stock["last_trade"]["price"]


def test_the_simulated_greeks_keep_black_scholes_identities(client: MassiveRest) -> None:
    # Zero rates: a call and a put of one strike share gamma, vega and theta, their deltas differ by 1 and
    # their prices by spot minus strike (put-call parity), to the quotes' rounding.
    (spy,) = client.stock_snapshots(["SPY"])
    assert spy.last_price is not None
    chain = client.option_chain("SPY", strike_price__gte=spy.last_price - 2, strike_price__lte=spy.last_price + 2)
    spot = float(chain[0].underlying_asset["price"])  # type: ignore[index, arg-type]
    by_key = {(c.details.expiration_date, c.details.strike_price, c.details.contract_type): c for c in chain}
    pairs = [(c, by_key[(e, k, "put")]) for (e, k, kind), c in by_key.items() if kind == "call"]
    assert len(pairs) >= 5
    for call, put in pairs:
        assert call.greeks is not None and put.greeks is not None
        assert (call.greeks.gamma, call.greeks.vega, call.greeks.theta) == (
            put.greeks.gamma, put.greeks.vega, put.greeks.theta)  # fmt: skip
        assert call.greeks.theta is not None and call.greeks.theta < 0 < (call.greeks.vega or 0)
        assert (call.greeks.delta or 0) - (put.greeks.delta or 0) == pytest.approx(1, abs=0.0002)
        strike = call.details.strike_price or 0
        call_mid = float((call.last_quote or {})["midpoint"])  # type: ignore[arg-type]
        put_mid = float((put.last_quote or {})["midpoint"])  # type: ignore[arg-type]
        assert call_mid - put_mid == pytest.approx(spot - strike, abs=0.02)
