"""The leader's global subscription set, from the members' snapshots and intents."""

from __future__ import annotations

from relay.coordination.leadership import GlobalSubscriptions
from relay.core.channels import Cluster
from relay.core.hub import MAX_QUOTE_CONTRACTS

OPT = Cluster.OPTIONS
X = "Q.O:SPY251219C00650000"
Y = "T.O:SPY251219P00600000"


def contracts(count: int, start: int = 0) -> list[str]:
    return [f"Q.O:SPY261218C{300_000 + 1_000 * i:08d}" for i in range(start, start + count)]


def test_a_channel_stays_upstream_until_the_last_member_holding_it_lets_go() -> None:
    subs = GlobalSubscriptions()
    subs.snapshot("a", 1, {OPT: [X]})
    subs.snapshot("b", 1, {OPT: [X, Y]})
    hub = subs.hubs[OPT]
    assert hub.take_upstream_diff().subscribe == (X, Y)
    subs.intent("b", 2, OPT, [], [X])
    assert not hub.take_upstream_diff()
    subs.forget("a")
    assert hub.take_upstream_diff().unsubscribe == (X,)
    assert subs.members() == ["b"]


def test_a_snapshot_replaces_what_the_member_held() -> None:
    subs = GlobalSubscriptions()
    subs.snapshot("a", 1, {OPT: [X]})
    subs.snapshot("a", 2, {OPT: [Y]})
    assert subs.channels("a", OPT) == [Y]


def test_anything_at_or_below_the_applied_sequence_is_stale() -> None:
    subs = GlobalSubscriptions()
    assert subs.snapshot("a", 3, {OPT: [X]}) == {}
    assert subs.intent("a", 3, OPT, [Y], []) is None
    assert subs.snapshot("a", 2, {OPT: []}) is None
    assert subs.channels("a", OPT) == [X]


def test_the_quote_cap_counts_every_members_contracts() -> None:
    subs = GlobalSubscriptions()
    subs.snapshot("a", 1, {OPT: contracts(600)})
    refused = subs.intent("b", 1, OPT, contracts(401, start=600), [])
    assert refused is not None and [e.channel for e in refused] == contracts(1, start=1000)
    assert subs.hubs[OPT].quote_contracts == MAX_QUOTE_CONTRACTS
    # A contract another member already holds costs nothing more.
    assert subs.intent("b", 2, OPT, contracts(1), []) == []


def test_a_snapshot_over_the_cap_reports_what_it_refused() -> None:
    subs = GlobalSubscriptions()
    subs.snapshot("a", 1, {OPT: contracts(1000)})
    refused = subs.snapshot("b", 1, {OPT: contracts(2, start=1000)})
    assert refused is not None and len(refused[OPT]) == 2
