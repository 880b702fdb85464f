"""How one or many relay processes share one Massive key: its members and their leader (no I/O here).

A `RelayNode` always holds one `Coordinator`, as Centrifuge's Node holds a Broker:

- `standalone.Standalone`: the only member; it owns the upstream links itself.
- `redis.RedisCoordinator`: one member of several behind one key, coordinated through Redis; the
  member holding the lease leads (keeps the upstream sockets) and publishes what they bring.

The coordinator reaches the node only through `MemberHost`, so nothing here imports the node.
`lease`, `leadership`, `fanout`, `messages` and `views` are pure; `standalone` and `redis` are shells.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from relay.core.channels import ChannelError, Cluster
from relay.core.frames import StatusEvent
from relay.core.hub import ClusterHub, Refusal
from relay.core.ports import UpstreamSink

Role = Literal["standalone", "leader", "follower"]


@dataclass(frozen=True, slots=True)
class UpstreamReport:
    """How one cluster's upstream stands, as this member sees it (for `/api/ws-health` and `/metrics`)."""

    state: str
    sockets: int
    healthy: bool
    problem: str | None
    reconnect_attempts: int = 0
    last_error: str | None = None
    waiting_for_capacity: bool = False


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the leader refused of the channels new to this member, and who here held them."""

    errors: list[ChannelError] = field(default_factory=list)
    refusal: Refusal | None = None


NO_VERDICT = Verdict()


class MemberHost(UpstreamSink, Protocol):
    """What a coordinator calls on the node it serves."""

    @property
    def node_id(self) -> str: ...

    def hub(self, cluster: Cluster) -> ClusterHub:
        """The hub of this process's clients of `cluster`."""
        ...

    def clients(self, cluster: Cluster) -> int:
        """How many clients of `cluster` this process serves."""
        ...

    def from_fanout(self, cluster: Cluster, frame: bytes) -> None:
        """Events the leader published, for this process's clients."""
        ...

    def leader_refused(self, cluster: Cluster, refusal: Refusal, errors: list[ChannelError]) -> None:
        """The leader refused channels held here: tell their holders."""
        ...


class Coordinator(Protocol):
    """This process's part in sharing the Massive key."""

    @property
    def role(self) -> Role: ...

    def start(self) -> None:
        """Start the upstream links, or the loops that decide who keeps them."""
        ...

    def stop(self) -> None:
        """SIGTERM, once the clients are closed: the lease to a follower at once, then every upstream
        socket closed with a close frame."""
        ...

    def changed(self, cluster: Cluster) -> None:
        """The channels held here in `cluster` changed."""
        ...

    def sync(self, cluster: Cluster) -> Verdict:
        """Channels new here wait for the upstream: send them now, and say what the leader refused."""
        ...

    def wake_links(self) -> None:
        """A socket slot was freed: every link of this process may reconsider."""
        ...

    def upstream_events(self, cluster: Cluster) -> list[StatusEvent]:
        """What a client just authenticated is told about the upstream."""
        ...

    def report(self, cluster: Cluster, wanted: bool, now: float) -> UpstreamReport:
        """The upstream of `cluster`, for health; `wanted` when clients here hold channels."""
        ...

    def ready(self) -> bool:
        """Whether this process can serve clients (`/api/ready`)."""
        ...

    def membership(self) -> dict[str, Any]:
        """`role`, `leader`, `node` and `clusterWide` (the counts over every member) for `/api/ws-health`."""
        ...
