"""Fan-out through Redis pub/sub: which Redis channel carries an event, and which ones a node needs (pure).

The leader publishes each routed upstream frame's events grouped by shard: `shards` buckets of
channel names (a stable hash), or with `shards == 0` one Redis channel per Massive channel. A
node subscribes to the shards of the channels its clients hold, and to every shard of a cluster
(one pattern) when a client holds a wildcard there. Each event is published exactly once, so a
node never gets it twice, and the node routes what arrives through its own hub as if it came
from Massive.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from relay.core.channels import WILDCARD, Cluster


@dataclass(frozen=True, slots=True)
class Wanted:
    """The Redis channels a node subscribes to for one cluster: names, or all of them (a pattern)."""

    channels: frozenset[str]
    pattern: str | None = None


class Fanout:
    """Names of the Redis channels that carry events, under one key prefix."""

    def __init__(self, prefix: str, shards: int) -> None:
        self.prefix = prefix
        self.shards = shards

    def base(self, cluster: Cluster) -> str:
        return f"{self.prefix}:ev:{cluster}:"

    def channel_of(self, cluster: Cluster, name: str) -> str:
        """The Redis channel carrying events of Massive channel `name`."""
        if self.shards == 0:
            return self.base(cluster) + name
        return self.base(cluster) + str(zlib.crc32(name.encode()) % self.shards)

    def wanted(self, cluster: Cluster, held: Iterable[str]) -> Wanted:
        """What a node whose clients hold `held` must subscribe to."""
        names = list(held)
        if any(name.endswith("." + WILDCARD) for name in names):
            return Wanted(frozenset(), self.base(cluster) + "*")
        return Wanted(frozenset(self.channel_of(cluster, name) for name in names))

    def batches(self, cluster: Cluster, names: Sequence[str], events: Sequence[bytes]) -> dict[str, bytes]:
        """One JSON array per Redis channel from routed events (`names[i]` is `events[i]`'s channel)."""
        grouped: dict[str, list[bytes]] = {}
        for name, event in zip(names, events, strict=True):
            grouped.setdefault(self.channel_of(cluster, name), []).append(event)
        return {channel: b"[" + b",".join(parts) + b"]" for channel, parts in grouped.items()}
