"""The leader's global subscription set, rebuilt from what the instances report (pure, no I/O).

Each instance (a *member*: node id and incarnation) reports the channels its clients hold, as a
full snapshot and as intents (the diff of one change), both numbered by the member's own
sequence. Per cluster the leader keeps a `ClusterHub` whose clients are members, so the upstream
ref-count, the 1,000 quote contract cap and the upstream diff are the very rules of one process,
applied across all of them. Anything at or below the sequence already applied is stale and ignored.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping

from relay.core.channels import Channel, ChannelError, Cluster, parse_channel
from relay.core.hub import ClusterHub

# A member's channels are already bounded by its clients' limits; the global caps are the hub's.
MEMBER_CHANNEL_LIMIT = 10**9


def _channels(cluster: Cluster, names: Iterable[str]) -> list[Channel]:
    channels: list[Channel] = []
    for name in names:
        try:
            channels.append(parse_channel(cluster, name))
        except ChannelError:
            continue
    return channels


class GlobalSubscriptions:
    """Which member holds which channels, per cluster, and what the upstream must hold."""

    def __init__(self) -> None:
        self.hubs = {cluster: ClusterHub(cluster, max_channels_per_client=MEMBER_CHANNEL_LIMIT) for cluster in Cluster}
        self._ids: dict[str, int] = {}
        self._applied: dict[str, int] = {}
        self._next = itertools.count(1)

    def members(self) -> list[str]:
        return sorted(self._ids)

    def applied(self, member: str) -> int:
        return self._applied.get(member, 0)

    def channels(self, member: str, cluster: Cluster) -> list[str]:
        mid = self._ids.get(member)
        return [] if mid is None else self.hubs[cluster].channels_of(mid)

    def _id(self, member: str) -> int:
        mid = self._ids.get(member)
        if mid is None:
            mid = self._ids[member] = next(self._next)
            for hub in self.hubs.values():
                hub.add_client(mid)
        return mid

    def snapshot(
        self, member: str, seq: int, held: Mapping[Cluster, Iterable[str]]
    ) -> dict[Cluster, list[ChannelError]] | None:
        """Make `member` hold exactly `held`; the refusals per cluster, or None when stale."""
        if seq <= self.applied(member):
            return None
        self._applied[member] = seq
        mid = self._id(member)
        refused: dict[Cluster, list[ChannelError]] = {}
        for cluster, hub in self.hubs.items():
            wanted = set(held.get(cluster, ()))
            have = set(hub.channels_of(mid))
            hub.unsubscribe(mid, _channels(cluster, have - wanted))
            outcome = hub.subscribe(mid, _channels(cluster, sorted(wanted - have)))
            if outcome.refused:
                refused[cluster] = outcome.refused
        return refused

    def intent(
        self, member: str, seq: int, cluster: Cluster, subscribe: Iterable[str], unsubscribe: Iterable[str]
    ) -> list[ChannelError] | None:
        """Apply one change of `member`; the channels refused, or None when stale."""
        if seq <= self.applied(member):
            return None
        self._applied[member] = seq
        mid = self._id(member)
        hub = self.hubs[cluster]
        hub.unsubscribe(mid, _channels(cluster, unsubscribe))
        return hub.subscribe(mid, _channels(cluster, subscribe)).refused

    def forget(self, member: str) -> None:
        """A member that stopped reporting: release everything it held."""
        mid = self._ids.pop(member, None)
        self._applied.pop(member, None)
        if mid is None:
            return
        for hub in self.hubs.values():
            hub.remove_client(mid)
