"""The leader's lease: the pure clock, and the scripts against the real Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import redis

from relay.coordination.lease import Holder, LeaseClock, RedisLease
from tests.relay.conftest import TEST_REDIS_URL

REDIS_URL = TEST_REDIS_URL


def test_a_lease_is_valid_until_ttl_minus_margin_after_the_renewal_was_sent() -> None:
    clock = LeaseClock(ttl_s=3.0, margin_s=1.0)
    assert not clock.valid(0.0)
    clock.granted(10.0)
    assert clock.valid(11.99) and not clock.valid(12.0)
    assert clock.left(11.5) == pytest.approx(0.5)


def test_a_late_answer_to_an_older_renewal_never_shortens_the_lease() -> None:
    clock = LeaseClock(ttl_s=3.0, margin_s=1.0)
    clock.granted(10.0)
    clock.granted(9.0)
    assert clock.valid(11.9)


def test_a_lost_lease_is_invalid_at_once() -> None:
    clock = LeaseClock(ttl_s=3.0, margin_s=1.0)
    clock.granted(10.0)
    clock.lost()
    assert not clock.valid(10.1) and clock.left(10.1) == 0.0


def test_the_margin_must_fit_in_the_ttl() -> None:
    with pytest.raises(ValueError, match="margin"):
        LeaseClock(ttl_s=1.0, margin_s=1.0)


def test_a_holder_value_names_the_member_and_its_token() -> None:
    holder = Holder.parse(b"host-1|2#ab12|17")
    assert holder == Holder("host-1|2#ab12", 17)
    assert holder.value == "host-1|2#ab12|17" and holder.node == "host-1|2"
    assert Holder.parse("no-token") is None and Holder.parse(None) is None


@pytest.fixture
def lease() -> Iterator[RedisLease]:
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    prefix = f"hdtest:{uuid.uuid4().hex[:12]}"
    yield RedisLease(client, prefix, ttl_s=2.0)
    client.delete(f"{prefix}:leader", f"{prefix}:fence")
    client.close()


def test_only_one_member_acquires_and_the_other_learns_who_holds_it(lease: RedisLease) -> None:
    won, first = lease.try_acquire("a#1")
    assert won and first == Holder("a#1", 1)
    won, seen = lease.try_acquire("b#1")
    assert not won and seen == first


def test_each_takeover_gets_a_larger_fencing_token(lease: RedisLease) -> None:
    _, first = lease.try_acquire("a#1")
    assert first is not None and lease.release(first)
    won, second = lease.try_acquire("b#1")
    assert won and second is not None and second.token == first.token + 1
    assert lease.still_mine(second) and not lease.still_mine(first)


def test_a_former_leader_can_neither_renew_nor_release_the_new_ones_lease(lease: RedisLease) -> None:
    _, first = lease.try_acquire("a#1")
    assert first is not None
    lease.release(first)
    _, second = lease.try_acquire("b#1")
    assert second is not None
    assert not lease.renew(first) and not lease.release(first)
    assert lease.holder() == second and lease.renew(second)
