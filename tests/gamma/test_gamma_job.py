"""The `gamma` job end to end against the fake Massive REST server: every page, three views, one row each."""

from __future__ import annotations

import json
import random
import uuid
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest

from shared.gamma.exposure import exposure
from shared.gamma.job import GammaRun
from shared.gamma.snapshot import build_chain
from shared.jobs import PartialFailure
from shared.market import calendar
from shared.massive.models import OptionSnapshot
from shared.massive.rest import MassiveRest, RateLimitBudget, RetryPolicy
from tests.fakes.massive_rest import FakeMassiveRest, option_contract, synthetic_chain
from tests.jobs.test_run_command import run_command

SPX_VALUE = 6010.0


def today() -> Any:
    return datetime.now(UTC).astimezone(calendar.NEW_YORK).date()


def small_spy_chain(oi: float = 1000.0, expiry: date | None = None) -> list[dict[str, Any]]:
    expiry = expiry or calendar.next_session(today())
    return [
        option_contract("SPY", expiry, "call", 600.0, spot=598.0, iv=None, gamma=0.05, open_interest=oi),
        option_contract("SPY", expiry, "put", 590.0, spot=598.0, iv=None, gamma=0.04, open_interest=500.0),
    ]


def client_for(massive: FakeMassiveRest) -> MassiveRest:
    return MassiveRest(massive.url, "test-key", retry=RetryPolicy(budget=RateLimitBudget(10.0)),
                       sleep=lambda _: None, rng=random.Random(1), timeout=(2.0, 5.0))


def stored(db: psycopg.Connection[Any], symbol: str) -> dict[str, dict[str, Any]]:
    rows = db.execute(
        "select view, bucket, taken_at, spot, net_gex, call_gex, put_gex, call_wall, put_wall, zero_gamma, max_pain,"
        " contracts, contracts_without_greeks, contracts_without_open_interest, gamma_unit_ratio, gamma_scale, strikes"
        " from gamma_snapshots where symbol = %s",
        (symbol,),
    ).fetchall()
    names = ["view", "bucket", "taken_at", "spot", "net_gex", "call_gex", "put_gex", "call_wall", "put_wall",
             "zero_gamma", "max_pain", "contracts", "contracts_without_greeks", "contracts_without_open_interest",
             "gamma_unit_ratio", "gamma_scale", "strikes"]
    return {row[0]: dict(zip(names, row, strict=True)) for row in rows}


# The fake prices gamma on whole days to expiry and the job on hours to the close, so the unit ratio
# of the chain is 1.0 only while the market is open: this test runs on a Wednesday at 10:30 New York.
@pytest.mark.slow
@pytest.mark.time_machine(datetime(2026, 12, 2, 15, 30, tzinfo=UTC))
def test_a_forced_run_reads_every_page_of_a_20000_contract_chain_and_stores_three_views(
    settings: Any, db: psycopg.Connection[Any], massive_env: FakeMassiveRest
) -> None:
    from functions.jobs.gamma import run

    raw = synthetic_chain("I:SPX", 6000.0, 20_000, today=today())
    massive_env.chains["I:SPX"] = raw
    massive_env.indices["I:SPX"] = {"ticker": "I:SPX", "value": SPX_VALUE, "market_status": "open"}
    massive_env.chains["SPY"] = small_spy_chain()

    result = run(force=True)

    assert result.status == "ok", result.error
    assert len(massive_env.requests_to("/v3/snapshot/options/I:SPX")) == 20_000 // 250
    # NDX and QQQ have no chain in the fake: no listed options, counted, not an error.
    assert result.counts["without_options"] == 2 and result.counts["snapshots"] == 6
    rows = stored(db, "I:SPX")
    assert set(rows) == {"all", "nearest", "30d"}
    everything = rows["all"]
    # Spot is the index's value, not the chain's underlying price.
    assert everything["spot"] == SPX_VALUE
    assert everything["contracts"] == 20_000
    assert everything["contracts_without_greeks"] == sum(1 for c in raw if "greeks" not in c)
    assert everything["contracts_without_open_interest"] == sum(1 for c in raw if "open_interest" not in c)
    # The fake's gammas are per $1 from each contract's IV: the unit check finds a ratio of 1 and keeps them.
    assert everything["gamma_unit_ratio"] == pytest.approx(1.0, abs=0.01) and everything["gamma_scale"] == 1.0
    chain = build_chain([OptionSnapshot.model_validate(c) for c in raw], everything["taken_at"]).chain
    for view, row in rows.items():
        expected = exposure(chain, SPX_VALUE, view)  # type: ignore[arg-type]
        assert row["net_gex"] == pytest.approx(expected.net_gex, rel=1e-9, abs=0.01)
        assert row["put_gex"] == pytest.approx(expected.put_gex, rel=1e-9, abs=0.01)
        assert (row["call_wall"], row["put_wall"], row["max_pain"]) == (
            expected.call_wall, expected.put_wall, expected.max_pain,
        )
        assert row["zero_gamma"] == pytest.approx(expected.zero_gamma, abs=1e-4)
        assert row["strikes"]["strike"] == [s.strike for s in expected.strikes]
    assert rows["nearest"]["contracts"] < rows["30d"]["contracts"] < everything["contracts"]
    spy = stored(db, "SPY")["all"]
    # 598² = 357,604. Call: 0.05 × 1,000 × 100 × 357,604 × 0.01 = 17,880,200;
    # put: −0.04 × 500 × 100 × 357,604 × 0.01 = −7,152,080; net 10,728,120.
    assert (spy["spot"], spy["call_gex"], spy["put_gex"], spy["net_gex"]) == (598.0, 17_880_200.0, -7_152_080.0,
                                                                              10_728_120.0)
    heartbeat = db.execute("select status, counts from job_heartbeats where job = 'gamma'").fetchone()
    assert heartbeat is not None and heartbeat[0] == "ok" and heartbeat[1]["contracts"] == 20_002


def test_a_run_draws_the_chart_of_every_snapshot_it_stores(
    settings: Any, db: psycopg.Connection[Any], massive: FakeMassiveRest
) -> None:
    massive.chains["SPY"] = small_spy_chain()
    client = client_for(massive)
    counts = GammaRun(client, interval_s=300).run(["SPY"], "")
    client.close()
    assert (counts.snapshots, counts.charts_drawn, counts.charts_failed) == (3, 3, 0)
    charts = db.execute("select view, substr(png, 1, 4) from gamma_charts order by view").fetchall()
    assert charts == [("30d", b"\x89PNG"), ("all", b"\x89PNG"), ("nearest", b"\x89PNG")]


def test_a_retried_run_in_the_same_interval_overwrites_its_rows(
    settings: Any, db: psycopg.Connection[Any], massive: FakeMassiveRest
) -> None:
    friday = date(2025, 11, 28)
    massive.chains["SPY"] = small_spy_chain(oi=1000.0, expiry=friday)
    first = datetime(2025, 11, 25, 15, 1, tzinfo=UTC)
    client = client_for(massive)
    GammaRun(client, interval_s=300, now=lambda: first).run(["SPY"], "")
    first_charts = db.execute("select view, etag from gamma_charts order by view").fetchall()
    massive.chains["SPY"] = small_spy_chain(oi=2000.0, expiry=friday)
    retry = datetime(2025, 11, 25, 15, 4, 30, tzinfo=UTC)
    GammaRun(client, interval_s=300, now=lambda: retry).run(["SPY"], "")
    rows = db.execute("select view, taken_at, call_gex from gamma_snapshots order by view").fetchall()
    # One row per view, holding the retry's figures: 0.05 × 2,000 × 100 × 598² × 0.01 = 35,760,400.
    assert rows == [(view, retry, 35_760_400.0) for view in ("30d", "all", "nearest")]
    # …and the chart of each is drawn again from them, not left showing the figures they replaced.
    retry_charts = db.execute("select view, etag from gamma_charts order by view").fetchall()
    assert len(retry_charts) == 3 and set(retry_charts).isdisjoint(first_charts)
    next_interval = datetime(2025, 11, 25, 15, 5, tzinfo=UTC)
    GammaRun(client, interval_s=300, now=lambda: next_interval).run(["SPY"], "")
    assert db.execute("select count(*) from gamma_snapshots").fetchone() == (6,)
    client.close()


def test_a_symbol_massive_refuses_fails_the_run_but_the_others_are_stored(
    settings: Any, db: psycopg.Connection[Any], massive: FakeMassiveRest
) -> None:
    massive.chains["SPY"] = small_spy_chain()
    massive.chains["QQQ"] = small_spy_chain()
    massive.forbidden_prefixes.add("/v3/snapshot/options/QQQ")
    client = client_for(massive)
    with pytest.raises(PartialFailure, match="1 of 2 symbols got no snapshot: QQQ: the Massive key lacks entitlement"):
        GammaRun(client, interval_s=300).run(["SPY", "QQQ"], "")
    client.close()
    assert db.execute("select distinct symbol from gamma_snapshots").fetchall() == [("SPY",)]


def test_an_index_without_a_value_gets_no_snapshot(
    settings: Any, db: psycopg.Connection[Any], massive: FakeMassiveRest
) -> None:
    massive.chains["I:NDX"] = [
        option_contract("I:NDX", calendar.next_session(today()), "call", 21000.0, spot=21000.0, iv=0.2, gamma=0.001,
                        open_interest=10.0)
    ]
    massive.indices["I:NDX"] = {"ticker": "I:NDX", "error": "NOT_ENTITLED", "message": "Not entitled"}
    client = client_for(massive)
    with pytest.raises(PartialFailure, match="no value for I:NDX in Massive's index snapshot"):
        GammaRun(client, interval_s=300).run(["NDX"], "")
    client.close()
    assert db.execute("select count(*) from gamma_snapshots").fetchone() == (0,)


def test_watchlist_symbols_are_snapshotted_beside_the_configured_ones(
    settings: Any, db: psycopg.Connection[Any], massive: FakeMassiveRest
) -> None:
    db.execute("insert into watchlist (user_id, symbol) values (%s, 'AAPL')", (uuid.uuid4(),))
    massive.chains["AAPL"] = [
        option_contract("AAPL", calendar.next_session(today()), "put", 230.0, spot=231.0, iv=None, gamma=0.03,
                        open_interest=100.0)
    ]
    client = client_for(massive)
    counts = GammaRun(client, interval_s=300).run(None, "SPY")
    client.close()
    assert (counts.symbols, counts.without_options, counts.snapshots) == (2, 1, 3)
    assert db.execute("select distinct symbol from gamma_snapshots").fetchall() == [("AAPL",)]


def test_the_gamma_lambda_and_the_run_command_run_the_job(
    database_url: str, settings: Any, db: psycopg.Connection[Any], massive_env: FakeMassiveRest
) -> None:
    from functions.jobs.gamma import handler

    massive_env.chains["SPY"] = small_spy_chain()
    assert handler({"force": True}, None)["status"] == "ok"
    result = run_command(database_url, massive_env, "gamma", "--force", "--symbols", "SPY")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert (summary["job"], summary["status"], summary["counts"]["snapshots"]) == ("gamma", "ok", 3)
    assert [row[0] for row in db.execute("select status from job_heartbeats where job = 'gamma'")] == ["ok", "ok"]


def test_gamma_interval_sets_the_dev_schedulers_interval(monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.config import get_settings
    from shared.local.scheduler import Scheduler

    monkeypatch.setenv("GAMMA_INTERVAL", "600")
    get_settings.cache_clear()
    try:
        intervals = {spec.name: spec.interval_s for spec in Scheduler(runner=lambda spec, after_close: None).jobs}
    finally:
        get_settings.cache_clear()
    assert intervals["gamma"] == 600 and intervals["ingest"] == 15 * 60


def impossible_contracts(expiry: date) -> list[dict[str, Any]]:
    """A contract with open interest 1e12, one with a gamma of a billion, one struck at ten million."""
    return [
        option_contract("SPY", expiry, "call", 600.0, spot=598.0, iv=0.2, gamma=0.05, open_interest=1e12),
        option_contract("SPY", expiry, "put", 0.01, spot=598.0, iv=0.5, gamma=1e9, open_interest=0.0),
        option_contract("SPY", expiry, "put", 1e7, spot=598.0, iv=0.2, gamma=0.0, open_interest=None),
    ]


def test_impossible_contracts_are_refused_and_the_rest_of_the_chain_is_stored(
    settings: Any, db: psycopg.Connection[Any], massive: FakeMassiveRest
) -> None:
    expiry = date(2025, 11, 28)
    massive.chains["SPY"] = small_spy_chain(expiry=expiry) + impossible_contracts(expiry)
    client = client_for(massive)
    counts = GammaRun(client, interval_s=300, now=lambda: datetime(2025, 11, 25, 15, tzinfo=UTC)).run(["SPY"], "")
    client.close()
    row = stored(db, "SPY")["all"]
    # By hand: call 0.05 × 1,000 × 100 × 598² × 0.01 = 17,880,200; put −0.04 × 500 × 100 × 598² × 0.01 = −7,152,080.
    assert (row["call_gex"], row["put_gex"], row["net_gex"]) == (17_880_200.0, -7_152_080.0, 10_728_120.0)
    assert row["contracts"] == 2
    assert counts.refused == 3


def test_a_chain_of_nothing_but_impossible_contracts_fails_its_symbol_and_stores_nothing(
    settings: Any, db: psycopg.Connection[Any], massive: FakeMassiveRest
) -> None:
    massive.chains["SPY"] = impossible_contracts(date(2025, 11, 28))
    client = client_for(massive)
    with pytest.raises(PartialFailure, match="every contract of SPY's chain was impossible"):
        GammaRun(client, interval_s=300, now=lambda: datetime(2025, 11, 25, 15, tzinfo=UTC)).run(["SPY"], "")
    client.close()
    assert stored(db, "SPY") == {}


def test_snapshots_past_the_retention_keep_their_totals_but_not_their_strikes(
    settings: Any, db: psycopg.Connection[Any], massive: FakeMassiveRest
) -> None:
    massive.chains["SPY"] = small_spy_chain(expiry=date(2025, 12, 19))
    client = client_for(massive)
    week_ago = datetime(2025, 11, 18, 15, 0, tzinfo=UTC)
    GammaRun(client, interval_s=300, now=lambda: week_ago).run(["SPY"], "")
    now = datetime(2025, 11, 25, 15, 1, tzinfo=UTC)
    counts = GammaRun(client, interval_s=300, now=lambda: now).run(["SPY"], "")
    client.close()
    rows = db.execute(
        "select taken_at, strikes = '{}'::jsonb, call_gex from gamma_snapshots where view = 'all' order by taken_at"
    ).fetchall()
    # 0.05 × 1,000 × 100 × 598² × 0.01 = 17,880,200 in both; only the newer keeps its strikes.
    assert rows == [(week_ago, True, 17_880_200.0), (now, False, 17_880_200.0)]
    assert counts.strikes_pruned == 3
