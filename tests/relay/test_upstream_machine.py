"""The upstream state machine: when to connect, back off, give up for a while, or close."""

import random

import pytest

from relay.core.channels import Cluster
from relay.core.upstream import (
    AUTH_RETRY_S,
    EVICTED_MIN_S,
    ConnectionBudget,
    LinkState,
    Step,
    UpstreamMachine,
    full_jitter,
)


def machine(idle_close_s: float = 60.0, seed: int = 7) -> UpstreamMachine:
    return UpstreamMachine(Cluster.OPTIONS, idle_close_s=idle_close_s, rng=random.Random(seed))


def test_an_idle_cluster_connects_only_once_someone_holds_a_channel() -> None:
    m = machine()
    assert m.decide(0.0, wanted=False).step is Step.WAIT
    assert m.decide(0.0, wanted=True).step is Step.CONNECT


def test_backoff_is_full_jitter_doubling_from_1s_to_a_30s_cap() -> None:
    rng = random.Random(1)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 4.0), (6, 30.0), (50, 30.0)]:
        delays = [full_jitter(attempt, rng) for _ in range(500)]
        assert min(delays) >= 0.0 and max(delays) <= ceiling
        assert max(delays) > ceiling * 0.9


def test_a_drop_backs_off_then_reconnects_and_counts_attempts() -> None:
    m = machine()
    m.connecting(0.0)
    m.connected(0.1)
    delay = m.dropped("reset", 10.0)
    assert m.state is LinkState.BACKOFF and m.reconnect_attempts == 1 and m.last_error == "reset"
    assert m.decide(10.0 + delay / 2, wanted=True).step is Step.WAIT
    assert m.decide(10.0 + delay, wanted=True).step is Step.CONNECT
    m.dropped("refused", 12.0)
    assert m.reconnect_attempts == 2
    m.connected(13.0)
    assert m.reconnect_attempts == 0


def test_auth_failure_retries_every_five_minutes() -> None:
    m = machine()
    assert m.auth_failed("bad key", 0.0) == AUTH_RETRY_S == 300.0
    assert m.state is LinkState.AUTH_FAILED
    assert m.decide(299.0, wanted=True) .step is Step.WAIT
    assert m.decide(300.0, wanted=True).step is Step.CONNECT


@pytest.mark.parametrize("seed", range(20))
def test_eviction_backs_off_at_least_60s_with_jitter(seed: int) -> None:
    m = machine(seed=seed)
    delay = m.evicted("max_connections", 0.0)
    assert EVICTED_MIN_S <= delay <= 120.0
    assert m.decide(59.9, wanted=True).step is Step.WAIT


def test_two_evicted_processes_do_not_retry_in_step() -> None:
    delays = {round(machine(seed=s).evicted("x", 0.0), 3) for s in range(10)}
    assert len(delays) == 10


def test_a_cluster_nobody_wants_any_more_stops_retrying_and_goes_idle() -> None:
    m = machine()
    delay = m.dropped("reset", 0.0)
    assert m.decide(delay + 0.01, wanted=False).step is Step.WAIT
    assert m.state is LinkState.IDLE and m.reconnect_attempts == 0


def test_connected_socket_closes_after_the_idle_time_without_channels() -> None:
    m = machine(idle_close_s=60.0)
    m.connected(0.0)
    m.heard(100.0)
    assert m.decide(100.0, wanted=False).wait_s == pytest.approx(45.0)
    m.heard(130.0)
    assert m.decide(130.0, wanted=False).step is Step.WAIT
    m.heard(160.0)
    assert m.decide(160.0, wanted=False).step is Step.CLOSE_IDLE


def test_a_new_channel_cancels_the_idle_close() -> None:
    m = machine(idle_close_s=10.0)
    m.connected(0.0)
    m.decide(1.0, wanted=False)
    m.decide(5.0, wanted=True)
    m.heard(12.0)
    assert m.decide(12.0, wanted=False).step is Step.WAIT


def test_45_seconds_of_silence_counts_as_a_drop() -> None:
    m = machine()
    m.connected(0.0)
    m.heard(10.0)
    assert m.decide(54.9, wanted=True).step is Step.WAIT
    assert m.decide(55.0, wanted=True).step is Step.DROP_SILENT


def test_health_is_bad_after_10s_down_with_subscribers_but_fine_when_idle() -> None:
    m = machine()
    assert m.healthy(0.0, wanted=False) == (True, None)
    m.decide(0.0, wanted=True)
    m.connecting(0.0)
    m.dropped("refused", 1.0)
    assert m.healthy(9.0, wanted=True)[0]
    ok, why = m.healthy(10.5, wanted=True)
    assert not ok and "down 10 s" in (why or "")


def test_auth_failure_and_eviction_are_unhealthy_at_once_with_the_reason() -> None:
    m = machine()
    m.auth_failed("bad key", 0.0)
    assert m.healthy(0.0, wanted=True) == (False, "options: Massive refused the API key (bad key)")
    m.evicted("max", 1.0)
    ok, why = m.healthy(1.0, wanted=False)
    assert not ok and "another process" in (why or "")


def test_the_budget_caps_sockets_across_clusters() -> None:
    budget = ConnectionBudget(1)
    assert budget.acquire(Cluster.OPTIONS)
    assert not budget.acquire(Cluster.INDICES)
    budget.release(Cluster.OPTIONS)
    assert budget.acquire(Cluster.INDICES)
    with pytest.raises(RuntimeError):
        budget.acquire(Cluster.INDICES)
