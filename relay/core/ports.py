"""What the relay's shells call on each other, as Protocols (no I/O): the consumer names what it needs.

An `UpstreamLink` reports to an `UpstreamSink` (the node, or a leader's term that publishes to the
other members instead), and a `ClientSession` lives in a `SessionHost` (the node). So neither
imports the node, and anything with these methods can stand in for it.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from relay.core.channels import Cluster
from relay.core.frames import StatusEvent
from relay.core.hub import RoutedFrame

SessionT = TypeVar("SessionT", contravariant=True)
PrincipalT = TypeVar("PrincipalT", covariant=True)


class UpstreamSink(Protocol):
    """Where an upstream link reports what Massive said and what became of its socket."""

    def upstream_name(self, cluster: Cluster) -> str:
        """How the clients' statuses name the upstream of `cluster`."""
        ...

    def broadcast(self, cluster: Cluster, event: StatusEvent) -> None:
        """News about the upstream, for every client of `cluster`."""
        ...

    def deliver(self, cluster: Cluster, routed: RoutedFrame) -> None:
        """One upstream frame, already routed to the clients holding its channels."""
        ...

    def upstream_refused(self, cluster: Cluster, message: str) -> None:
        """Massive answered with an error status."""
        ...

    def wake_links(self) -> None:
        """A socket slot was freed: every link may reconsider."""
        ...


class Authenticator(Protocol[PrincipalT]):
    """Checks a token (raises `shared.auth.AuthError` when it is not good)."""

    def authenticate(self, token: str) -> PrincipalT: ...


class SessionHost(Protocol[SessionT, PrincipalT]):
    """What a client session calls on the process that serves it."""

    @property
    def ping_interval_s(self) -> float: ...

    @property
    def pong_timeout_s(self) -> float: ...

    @property
    def greeting(self) -> str: ...

    @property
    def gatekeeper(self) -> Authenticator[PrincipalT]: ...

    def register(self, session: SessionT) -> bool: ...

    def await_auth(self, session: SessionT) -> None: ...

    def authenticated(self, session: SessionT) -> None: ...

    def unregister(self, session: SessionT) -> None: ...

    def subscribe(self, session: SessionT, params: str | list[str]) -> list[StatusEvent]: ...

    def unsubscribe(self, session: SessionT, params: str | list[str]) -> list[StatusEvent]: ...

    def slow_consumer(self, session: SessionT) -> None: ...
