"""The Massive REST client against a hostile Massive over real sockets: every call bounded in time and size."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator

import pytest

from shared.massive import rest as rest_module
from shared.massive.rest import (
    DeadlineExceeded,
    MassiveError,
    MassiveRest,
    RateLimitBudget,
    RateLimitedError,
    RetryPolicy,
    TooLargeError,
)
from tests.fakes.hostile_massive import HostileMassiveRest, HostileMassiveServer
from tests.fakes.massive_rest import minute_bars
from tests.fakes.massive_rest_fixtures import Sleeps

DAY_MS = 1_764_000_000_000  # 2025-11-24T16:00Z


@pytest.fixture
def hostile() -> Iterator[HostileMassiveRest]:
    with HostileMassiveServer() as server:
        yield server.fake


def client(fake: HostileMassiveRest, **kwargs: object) -> MassiveRest:
    options: dict[str, object] = {
        "retry": RetryPolicy(budget=RateLimitBudget(1000.0)),
        "rng": random.Random(3),
        "timeout": (2.0, 2.0),
    }
    options.update(kwargs)
    return MassiveRest(fake.url, "test-key", **options)  # type: ignore[arg-type]


def test_retry_after_zero_still_waits_the_exponential_step(hostile: HostileMassiveRest, sleeps: Sleeps) -> None:
    hostile.retry_after = "0"
    hostile.add_bars("SPY", 1, "minute", minute_bars(DAY_MS, 3))
    hostile.fail_next(429, times=3)
    bars = client(hostile, sleep=sleeps).aggregates("SPY", 1, "minute", DAY_MS, DAY_MS + 600_000)
    assert len(bars) == 3
    assert sleeps == [2.0, 4.0, 8.0]


def test_429s_without_end_stop_after_eight_attempts(hostile: HostileMassiveRest, sleeps: Sleeps) -> None:
    hostile.retry_after = "0"
    hostile.fail_next(429, times=1000)
    with pytest.raises(RateLimitedError, match="8 times in a row"):
        client(hostile, sleep=sleeps).market_status()
    assert len(hostile.requests_to("/v1/")) == 8
    assert sleeps == [2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0]  # doubling, capped at 30 s


def test_a_long_retry_after_is_capped(hostile: HostileMassiveRest, sleeps: Sleeps) -> None:
    hostile.retry_after = "3600"
    hostile.fail_next(429, times=1)
    client(hostile, sleep=sleeps).market_status()
    assert sleeps == [30.0]


def test_a_429_wait_past_the_deadline_ends_the_call_at_once(hostile: HostileMassiveRest) -> None:
    hostile.fail_next(429, times=100)
    now = [100.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:  # a clock that moves only when the client waits
        waits.append(seconds)
        now[0] += seconds

    with pytest.raises(DeadlineExceeded, match=r"out of time for the market status.*429"):
        client(hostile, sleep=sleep, clock=lambda: now[0], deadline=105.0).market_status()
    assert waits == [2.0]  # 2 s fitted in 5; the next 4 s would have passed the deadline


def test_a_trickled_body_is_cut_at_the_deadline(hostile: HostileMassiveRest, sleeps: Sleeps) -> None:
    hostile.trickle_s = 0.05  # a ~100-byte answer would take ~5 s; each byte comes well within the read timeout
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded, match="still arriving"):
        client(hostile, sleep=sleeps).market_status(deadline=time.monotonic() + 1.0)
    assert 0.9 < time.monotonic() - started < 1.6


def test_a_slow_answer_is_cut_at_the_clients_deadline(hostile: HostileMassiveRest, sleeps: Sleeps) -> None:
    hostile.delay_s = 3.0
    started = time.monotonic()
    with pytest.raises(DeadlineExceeded):
        client(hostile, sleep=sleeps, timeout=(2.0, 20.0), deadline=time.monotonic() + 0.8).market_status()
    assert time.monotonic() - started < 1.5


def test_a_redirect_is_not_followed(hostile: HostileMassiveRest, sleeps: Sleeps) -> None:
    with HostileMassiveServer() as elsewhere:
        elsewhere.fake.add_bars("SPY", 1, "minute", minute_bars(DAY_MS, 3))
        hostile.redirect_to = f"{elsewhere.url}/v2/aggs/ticker/SPY/range/1/minute/{DAY_MS}/{DAY_MS + 600_000}"
        with pytest.raises(MassiveError, match=r"redirect \(HTTP 302 to 127.0.0.1\); not followed"):
            client(hostile, sleep=sleeps).aggregates("SPY", 1, "minute", DAY_MS, DAY_MS + 600_000)
        assert elsewhere.fake.seen == []


def test_an_endless_cursor_stops_at_the_page_cap(
    hostile: HostileMassiveRest, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rest_module, "MAX_PAGES", 40)
    hostile.endless_cursor = True
    with pytest.raises(TooLargeError, match="more than 40 pages"):
        client(hostile, sleep=sleeps).option_chain("SPY")
    assert len(hostile.requests_to("/v3/snapshot/options/SPY")) == 40


def test_an_endless_cursor_of_full_pages_stops_at_the_row_cap(
    hostile: HostileMassiveRest, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rest_module, "MAX_CHAIN_ROWS", 1000)
    hostile.endless_cursor = True
    hostile.chains["SPY"] = [
        {"details": {"ticker": f"O:SPY251219C{600000 + i * 1000:08d}", "strike_price": 600 + i}} for i in range(250)
    ]
    with pytest.raises(TooLargeError, match="passed 1,000 rows"):
        client(hostile, sleep=sleeps).option_chain("SPY")
    assert len(hostile.requests_to("/v3/snapshot/options/SPY")) == 5


def test_a_body_past_the_byte_cap_is_refused(
    hostile: HostileMassiveRest, sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rest_module, "MAX_BODY_BYTES", 10_000)
    hostile.add_bars("SPY", 1, "minute", minute_bars(DAY_MS, 500))
    with pytest.raises(TooLargeError, match="for 1 minute aggregates of SPY passed 0 MB; refused"):
        client(hostile, sleep=sleeps).aggregates("SPY", 1, "minute", DAY_MS, DAY_MS + 86_400_000)


def test_the_chain_arrives_page_by_page(hostile: HostileMassiveRest, sleeps: Sleeps) -> None:
    hostile.chains["SPY"] = [
        {"details": {"ticker": f"O:SPY251219C{600000 + i * 1000:08d}", "strike_price": 600 + i}} for i in range(600)
    ]
    pages = client(hostile, sleep=sleeps).option_chain_pages("SPY")
    assert [len(page) for page in pages] == [250, 250, 100]
