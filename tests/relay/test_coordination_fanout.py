"""Which Redis channel carries an event, and what a member subscribes to."""

from __future__ import annotations

from relay.coordination.fanout import Fanout
from relay.core.channels import Cluster

OPT = Cluster.OPTIONS
X = "Q.O:SPY251219C00650000"
Y = "T.O:SPY251219P00600000"


def test_a_channel_always_lands_in_the_same_one_of_the_shards() -> None:
    fanout = Fanout("p", 16)
    channel = fanout.channel_of(OPT, X)
    assert channel == fanout.channel_of(OPT, X) and channel.startswith("p:ev:options:")
    assert 0 <= int(channel.rsplit(":", 1)[1]) < 16


def test_with_no_shards_each_massive_channel_has_its_own() -> None:
    assert Fanout("p", 0).channel_of(OPT, X) == f"p:ev:options:{X}"


def test_a_member_subscribes_to_the_shards_of_what_its_clients_hold() -> None:
    fanout = Fanout("p", 16)
    wanted = fanout.wanted(OPT, [X, Y])
    assert wanted.channels == {fanout.channel_of(OPT, X), fanout.channel_of(OPT, Y)} and wanted.pattern is None


def test_a_wildcard_holder_takes_every_shard_of_the_cluster_through_one_pattern() -> None:
    wanted = Fanout("p", 16).wanted(OPT, [X, "T.*"])
    assert wanted.channels == frozenset() and wanted.pattern == "p:ev:options:*"


def test_events_are_grouped_once_each_by_shard() -> None:
    fanout = Fanout("p", 0)
    batches = fanout.batches(OPT, [X, Y, X], [b'{"a":1}', b'{"b":2}', b'{"a":3}'])
    assert batches == {f"p:ev:options:{X}": b'[{"a":1},{"a":3}]', f"p:ev:options:{Y}": b'[{"b":2}]'}
