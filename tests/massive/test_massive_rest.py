"""The Massive REST client against the fake server over real HTTP: pages, 429s, 5xx, 403, timeouts."""

from __future__ import annotations

import logging
import random
from datetime import date

import pytest

from shared.massive.rest import (
    EntitlementError,
    MassiveError,
    MassiveRest,
    RateLimitBudget,
    RateLimitedError,
    RetryPolicy,
    UnavailableError,
    massive_ticker,
)
from tests.fakes.massive_rest import FakeMassiveRest, minute_bars
from tests.fakes.massive_rest_fixtures import Sleeps

DAY_MS = 1_764_000_000_000  # 2025-11-24T16:00Z


def test_every_page_of_aggregates_is_read(rest: MassiveRest, massive: FakeMassiveRest) -> None:
    massive.page_size = 7
    massive.add_bars("SPY", 1, "minute", minute_bars(DAY_MS, 50))
    bars = rest.aggregates("SPY", 1, "minute", DAY_MS, DAY_MS + 3_600_000)
    assert [b.t for b in bars] == [DAY_MS + i * 60_000 for i in range(50)]
    assert len(massive.requests_to("/v2/aggs/")) == 8  # ceil(50 / 7)


def test_every_page_of_an_option_chain_is_read(rest: MassiveRest, massive: FakeMassiveRest) -> None:
    massive.chains["SPY"] = [
        {"details": {"ticker": f"O:SPY251219C{600000 + i * 1000:08d}", "strike_price": 600 + i}} for i in range(600)
    ]
    chain = rest.option_chain("spy")
    assert len(chain) == 600
    assert chain[-1].details.strike_price == 1199
    assert chain[0].greeks is None  # absent greeks stay absent, never zero
    assert len(massive.requests_to("/v3/snapshot/options/SPY")) == 3  # 250 + 250 + 100


def test_a_429_burst_is_waited_out(rest: MassiveRest, massive: FakeMassiveRest, sleeps: Sleeps) -> None:
    massive.add_bars("SPY", 1, "minute", minute_bars(DAY_MS, 3))
    massive.fail_next(429, times=4)
    bars = rest.aggregates("SPY", 1, "minute", DAY_MS, DAY_MS + 600_000)
    assert len(bars) == 3
    assert sleeps == [2.0, 4.0, 8.0, 16.0]  # doubling from 2 s, each within the budget


def test_429s_beyond_the_budget_fail_with_a_clear_error(massive: FakeMassiveRest, sleeps: Sleeps) -> None:
    client = MassiveRest(massive.url, "test-key", retry=RetryPolicy(budget=RateLimitBudget(10.0)), sleep=sleeps)
    massive.fail_next(429, times=100)
    with pytest.raises(RateLimitedError, match=r"rate-limited .*exceeded the maximum requests per minute.*budget"):
        client.aggregates("SPY", 1, "minute", DAY_MS, DAY_MS + 600_000)
    assert sum(sleeps) <= 10.0


def test_the_rate_limit_budget_is_shared_by_the_clients_of_a_process(massive: FakeMassiveRest, sleeps: Sleeps) -> None:
    budget = RateLimitBudget(6.0)
    first = MassiveRest(massive.url, "test-key", retry=RetryPolicy(budget=budget), sleep=sleeps)
    second = MassiveRest(massive.url, "test-key", retry=RetryPolicy(budget=budget), sleep=sleeps)
    massive.fail_next(429, times=2)
    first.market_status()  # waits 2 + 4 s: the whole budget
    massive.fail_next(429, times=1)
    with pytest.raises(RateLimitedError):
        second.market_status()


def test_the_rate_limit_budget_refills_each_window() -> None:
    now = [0.0]
    budget = RateLimitBudget(10.0, window_s=900.0, clock=lambda: now[0])
    assert budget.take(8.0)
    assert not budget.take(4.0)
    now[0] = 900.0
    assert budget.take(10.0)


def test_5xx_are_retried_with_jittered_backoff(rest: MassiveRest, massive: FakeMassiveRest, sleeps: Sleeps) -> None:
    massive.fail_next(502, times=2)
    assert rest.market_status().market == "open"
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0
    assert len(set(sleeps)) == 2


def test_5xx_that_persist_fail_as_unavailable(rest: MassiveRest, massive: FakeMassiveRest) -> None:
    massive.fail_next(503, times=10)
    with pytest.raises(UnavailableError, match="HTTP 503 for the market status 4 times"):
        rest.market_status()
    assert len(massive.requests_to("/v1/marketstatus")) == 4


def test_a_403_surfaces_as_an_entitlement_error_at_once(rest: MassiveRest, massive: FakeMassiveRest) -> None:
    massive.forbidden_prefixes.add("/v3/snapshot/options/")
    with pytest.raises(EntitlementError, match="lacks entitlement for the option chain snapshot of I:SPX"):
        rest.option_chain("SPX")
    assert len(massive.requests_to("/v3/snapshot/options/")) == 1


def test_an_unknown_key_is_an_entitlement_error_not_empty_data(massive: FakeMassiveRest, sleeps: Sleeps) -> None:
    client = MassiveRest(massive.url, "wrong-key", sleep=sleeps)
    with pytest.raises(EntitlementError, match="HTTP 401: Unknown API Key"):
        client.aggregates("SPY", 1, "minute", date(2025, 11, 24), date(2025, 11, 24))


def test_a_slow_answer_times_out_and_is_retried_then_fails(massive: FakeMassiveRest, sleeps: Sleeps) -> None:
    massive.delay_s = 0.5
    client = MassiveRest(massive.url, "test-key", timeout=(1.0, 0.2), retry=RetryPolicy(attempts=2), sleep=sleeps)
    with pytest.raises(UnavailableError, match="could not be reached for the market status after 2 tries"):
        client.market_status()
    assert len(sleeps) == 1


def test_the_key_goes_in_a_header_and_never_into_a_log_line(
    rest: MassiveRest, massive: FakeMassiveRest, caplog: pytest.LogCaptureFixture
) -> None:
    from shared.logs import redact

    caplog.set_level(logging.DEBUG)
    massive.fail_next(500)
    rest.market_status()
    assert all(seen.authorization == "Bearer test-key" and "apiKey" not in seen.query for seen in massive.seen)
    assert all("test-key" not in redact(record.getMessage() + str(vars(record))) for record in caplog.records)
    assert redact("key test-key") == "key ****"


def test_a_next_url_to_another_host_is_not_followed(rest: MassiveRest, massive: FakeMassiveRest) -> None:
    massive.chains["SPY"] = [{"details": {"ticker": f"O:SPY251219C0060{i:04d}"}} for i in range(300)]
    massive.url = "http://evil.example"  # the fake now writes cursors pointing elsewhere
    with pytest.raises(MassiveError, match="points at another host"):
        rest.option_chain("SPY")


def test_index_symbols_get_their_prefix_in_one_place(rest: MassiveRest, massive: FakeMassiveRest) -> None:
    assert massive_ticker("SPX") == "I:SPX"
    assert massive_ticker("I:NDX") == "I:NDX"
    assert massive_ticker("spy") == "SPY"
    assert massive_ticker("O:SPY251219C00650000") == "O:SPY251219C00650000"
    massive.indices["I:SPX"] = {"ticker": "I:SPX", "value": 6500.25, "market_status": "open"}
    snapshots = rest.index_snapshot(["SPX", "VIX"])
    assert massive.requests_to("/v3/snapshot/indices")[0].query["ticker.any_of"] == "I:SPX,I:VIX"
    assert snapshots[0].value == 6500.25
    assert snapshots[1].error == "NOT_FOUND"  # a per-ticker error arrives inside the 200


def test_a_body_that_is_not_what_massive_sends_is_a_clear_error(rest: MassiveRest, massive: FakeMassiveRest) -> None:
    massive.fail_next(200, body={"results": "soon"}, path_prefix="/v2/aggs/")
    with pytest.raises(MassiveError, match="not what we expect"):
        rest.aggregates("SPY", 1, "minute", DAY_MS, DAY_MS)


def test_a_row_that_is_not_a_bar_is_refused_and_counted(rest: MassiveRest, massive: FakeMassiveRest) -> None:
    massive.fail_next(200, body={"results": [{"t": "soon"}]}, path_prefix="/v2/aggs/")
    assert rest.aggregates("SPY", 1, "minute", DAY_MS, DAY_MS) == []
    assert rest.refused == 1


def test_jitter_spreads_simultaneous_retries(massive: FakeMassiveRest) -> None:
    waits: list[float] = []
    for seed in range(5):
        client = MassiveRest(massive.url, "test-key", sleep=waits.append, rng=random.Random(seed))
        massive.fail_next(500)
        client.market_status()
    assert len(set(waits)) == 5
