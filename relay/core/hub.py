"""The hub of one cluster: ref-counted channels, the upstream diff, and routing (pure, no I/O).

A channel is held once per client. The first holder makes the channel part of the upstream
subscription and the last one leaving removes it; changes accumulate until the upstream link
takes them as one diff. Routing parses an upstream frame once, serialises each event once, and
gives every client at most one payload built from the shared event bytes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from relay.core.channels import (
    CONFLATED_EVENTS,
    QUOTE_EVENT,
    Channel,
    ChannelError,
    Cluster,
    event_symbol,
    named_channels,
)

MAX_QUOTE_CONTRACTS = 1000
MAX_CHANNELS_PER_CLIENT = 1000


@dataclass(frozen=True, slots=True)
class Delivery:
    """What one client gets from one upstream frame: the frame bytes and its parts.

    `parts` pairs each event's bytes with its conflation key (the channel) when a lagging
    client may keep only the latest of that channel, else None.
    """

    payload: bytes
    parts: tuple[tuple[str | None, bytes], ...]

    @property
    def events(self) -> int:
        return len(self.parts)


@dataclass(slots=True)
class SubscribeOutcome:
    """Channels now held by the client (acknowledged) and the ones refused, with reasons."""

    held: list[Channel] = field(default_factory=list)
    refused: list[ChannelError] = field(default_factory=list)


@dataclass(slots=True)
class UnsubscribeOutcome:
    """Channels the client released, and the ones it did not hold."""

    released: list[Channel] = field(default_factory=list)
    not_held: list[Channel] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UpstreamDiff:
    """What to send upstream now: one subscribe and one unsubscribe list (either may be empty)."""

    subscribe: tuple[str, ...]
    unsubscribe: tuple[str, ...]

    def __bool__(self) -> bool:
        return bool(self.subscribe or self.unsubscribe)


@dataclass(slots=True)
class RoutedFrame:
    """The result of routing one upstream frame."""

    deliveries: dict[int, Delivery]
    statuses: list[dict[str, Any]]
    events: int
    unrouted: int
    malformed: bool = False
    # Each routed event's channel and bytes, in order: what a cluster's leader publishes.
    names: list[str] = field(default_factory=list)
    all_parts: list[tuple[str | None, bytes]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Refusal:
    """The held channels an upstream error status names, each with its holders.

    None named means the status cannot be pinned on a channel, so it concerns the whole cluster.
    """

    channels: dict[str, frozenset[int]]

    @property
    def cluster_wide(self) -> bool:
        return not self.channels

    def by_client(self) -> dict[int, list[str]]:
        """Each holder and the refused channels it holds, in the order the message names them."""
        clients: dict[int, list[str]] = {}
        for name, holders in self.channels.items():
            for client in holders:
                clients.setdefault(client, []).append(name)
        return clients


class ClusterHub:
    """Subscriptions of every client of one cluster, and what the upstream must hold."""

    def __init__(
        self,
        cluster: Cluster,
        *,
        max_quote_contracts: int = MAX_QUOTE_CONTRACTS,
        max_channels_per_client: int = MAX_CHANNELS_PER_CLIENT,
    ) -> None:
        self.cluster = cluster
        self.max_quote_contracts = max_quote_contracts
        self.max_channels_per_client = max_channels_per_client
        self._holders: dict[str, set[int]] = {}
        self._held: dict[int, dict[str, Channel]] = {}
        self._quotes = 0
        self._dirty: set[str] = set()
        self._upstream: set[str] = set()
        self._conflated = CONFLATED_EVENTS[cluster]

    # --- clients and channels -------------------------------------------------------------

    @property
    def clients(self) -> int:
        return len(self._held)

    @property
    def active_channels(self) -> int:
        """Distinct channels held by at least one client."""
        return len(self._holders)

    @property
    def quote_contracts(self) -> int:
        return self._quotes

    def has_channels(self) -> bool:
        return bool(self._holders)

    def holders(self, channel: str) -> int:
        """How many clients hold `channel`."""
        return len(self._holders.get(channel, ()))

    def channels_of(self, client: int) -> list[str]:
        return sorted(self._held.get(client, {}))

    def add_client(self, client: int) -> None:
        self._held.setdefault(client, {})

    def remove_client(self, client: int) -> list[Channel]:
        """Forget `client`, releasing everything it held."""
        held = self._held.pop(client, {})
        for name, channel in held.items():
            self._release(client, name, channel)
        return list(held.values())

    def subscribe(self, client: int, channels: Iterable[Channel]) -> SubscribeOutcome:
        """Let `client` hold `channels`, refusing each one that would break a limit."""
        held = self._held.setdefault(client, {})
        outcome = SubscribeOutcome()
        for channel in channels:
            name = channel.name
            if name in held:
                outcome.held.append(channel)
                continue
            if len(held) >= self.max_channels_per_client:
                outcome.refused.append(
                    ChannelError(
                        name,
                        f"this connection already holds {self.max_channels_per_client} channels, "
                        "the most one client may (RELAY_MAX_CHANNELS_PER_CLIENT)",
                    )
                )
                continue
            holders = self._holders.get(name)
            if holders is None:
                if channel.ev == QUOTE_EVENT and self.cluster is Cluster.OPTIONS:
                    if self._quotes >= self.max_quote_contracts:
                        outcome.refused.append(
                            ChannelError(
                                name,
                                f"Massive allows {self.max_quote_contracts} option quote contracts "
                                "per connection and the relay holds that many",
                            )
                        )
                        continue
                    self._quotes += 1
                holders = self._holders[name] = set()
                self._mark(name)
            holders.add(client)
            held[name] = channel
            outcome.held.append(channel)
        return outcome

    def unsubscribe(self, client: int, channels: Iterable[Channel]) -> UnsubscribeOutcome:
        """Release `channels` held by `client`."""
        held = self._held.get(client, {})
        outcome = UnsubscribeOutcome()
        for channel in channels:
            if held.pop(channel.name, None) is None:
                outcome.not_held.append(channel)
                continue
            self._release(client, channel.name, channel)
            outcome.released.append(channel)
        return outcome

    def _release(self, client: int, name: str, channel: Channel) -> None:
        holders = self._holders.get(name)
        if holders is None:
            return
        holders.discard(client)
        if not holders:
            del self._holders[name]
            self._mark(name)
            if channel.ev == QUOTE_EVENT and self.cluster is Cluster.OPTIONS:
                self._quotes -= 1

    def _mark(self, name: str) -> None:
        """Keep `name` pending only while held and upstream differ, so churn while the upstream
        is down (no diff taken for minutes) cannot grow the pending set without bound."""
        if (name in self._holders) != (name in self._upstream):
            self._dirty.add(name)
        else:
            self._dirty.discard(name)

    def refusal(self, message: str) -> Refusal:
        """Which held channels an upstream error status `message` names, and who holds them.

        Those channels are released: the upstream does not hold them, so they no longer count
        toward any limit and are not subscribed again after a reconnect.
        """
        named: dict[str, frozenset[int]] = {}
        for name in named_channels(message):
            holders = self._holders.get(name)
            if holders:
                named[name] = frozenset(holders)
                self._drop(name)
        return Refusal(named)

    def refuse(self, names: Iterable[str]) -> Refusal:
        """Release `names` for every holder (the cluster's leader refused them), and who held them."""
        named: dict[str, frozenset[int]] = {}
        for name in names:
            holders = self._holders.get(name)
            if holders:
                named[name] = frozenset(holders)
                self._drop(name)
        return Refusal(named)

    def _drop(self, name: str) -> None:
        """Forget every hold on `name`, as if the upstream had never subscribed it."""
        holders = self._holders.pop(name, set())
        channel: Channel | None = None
        for client in holders:
            channel = self._held.get(client, {}).pop(name, None) or channel
        if channel is not None and channel.ev == QUOTE_EVENT and self.cluster is Cluster.OPTIONS:
            self._quotes -= 1
        self._upstream.discard(name)
        self._dirty.discard(name)

    # --- the upstream subscription -------------------------------------------------------

    def upstream_channels(self) -> list[str]:
        """The channels the upstream holds (or, for a cluster member, the leader was told of)."""
        return sorted(self._upstream)

    def has_pending(self) -> bool:
        """Whether a diff is waiting to go upstream."""
        return bool(self._dirty)

    def upstream_reset(self) -> None:
        """A new or closed upstream socket holds nothing: everything held now must be subscribed again."""
        self._upstream.clear()
        self._dirty = set(self._holders)

    def take_upstream_diff(self) -> UpstreamDiff:
        """The net change since the last diff, and record it as sent."""
        subscribe = sorted(n for n in self._dirty if n in self._holders and n not in self._upstream)
        unsubscribe = sorted(n for n in self._dirty if n not in self._holders and n in self._upstream)
        self._dirty.clear()
        self._upstream.update(subscribe)
        self._upstream.difference_update(unsubscribe)
        return UpstreamDiff(tuple(subscribe), tuple(unsubscribe))

    # --- routing ---------------------------------------------------------------------------

    def route(self, frame: bytes | str) -> RoutedFrame:
        """Split one upstream frame into per-client deliveries and the upstream's statuses."""
        try:
            decoded = orjson.loads(frame)
        except orjson.JSONDecodeError:
            return RoutedFrame({}, [], 0, 0, malformed=True)
        events = decoded if isinstance(decoded, list) else [decoded]
        statuses: list[dict[str, Any]] = []
        parts: list[tuple[str | None, bytes]] = []
        names: list[str] = []
        wanted: dict[int, list[int]] = {}
        unrouted = 0
        holders_of = self._holders
        for event in events:
            if not isinstance(event, dict):
                continue
            kind = event.get("ev")
            if kind == "status":
                statuses.append(event)
                continue
            if not isinstance(kind, str):
                unrouted += 1
                continue
            symbol = event_symbol(self.cluster, event)
            name = f"{kind}.{symbol}"
            exact = holders_of.get(name) if symbol is not None else None
            wildcard = holders_of.get(f"{kind}.*")
            if not exact and not wildcard:
                unrouted += 1
                continue
            index = len(parts)
            parts.append((name if kind in self._conflated else None, orjson.dumps(event)))
            names.append(name)
            if exact:
                for client in exact:
                    wanted.setdefault(client, []).append(index)
            if wildcard:
                for client in wildcard:
                    chosen = wanted.setdefault(client, [])
                    if not chosen or chosen[-1] != index:
                        chosen.append(index)
        deliveries: dict[int, Delivery] = {}
        shared: dict[tuple[int, ...], Delivery] = {}
        for client, indexes in wanted.items():
            key = tuple(indexes)
            delivery = shared.get(key)
            if delivery is None:
                chosen_parts = tuple(parts[i] for i in key)
                payload = b"[" + b",".join(part for _, part in chosen_parts) + b"]"
                delivery = shared[key] = Delivery(payload, chosen_parts)
            deliveries[client] = delivery
        return RoutedFrame(
            deliveries, statuses, len(parts) + unrouted, unrouted, names=names, all_parts=parts
        )
