"""`Standalone`: the coordination of a relay that is the only one behind its Massive key (gevent, via the links).

It owns one upstream link per cluster, which reports to the node directly: what the links say
goes to this process's clients, and nobody else needs to hear it.
"""

from __future__ import annotations

from typing import Any

from relay.coordination import NO_VERDICT, MemberHost, Role, UpstreamReport, Verdict
from relay.core.channels import Cluster
from relay.core.frames import Status, StatusEvent, status
from relay.core.upstream import LinkState
from relay.link import NewLink


class Standalone:
    """The only member: this process keeps the upstream sockets itself."""

    def __init__(self, host: MemberHost, new_link: NewLink) -> None:
        self.host = host
        self.links = {cluster: new_link(cluster, host.hub(cluster), host) for cluster in Cluster}

    @property
    def role(self) -> Role:
        return "standalone"

    def start(self) -> None:
        for link in self.links.values():
            link.start()

    def stop(self) -> None:
        for link in self.links.values():
            link.stop()

    def changed(self, cluster: Cluster) -> None:
        self.links[cluster].poke()

    def sync(self, cluster: Cluster) -> Verdict:
        # The caps are this process's own: the hub already applied them.
        self.links[cluster].poke()
        return NO_VERDICT

    def wake_links(self) -> None:
        for link in self.links.values():
            link.poke()

    def upstream_events(self, cluster: Cluster) -> list[StatusEvent]:
        link = self.links[cluster]
        if link.machine.state is LinkState.CONNECTED:
            return [status(Status.UPSTREAM_CONNECTED, f"connected to {self.host.upstream_name(cluster)}")]
        if link.waiting_for_capacity:
            return [status(Status.ERROR, link.capacity_message())]
        if link.machine.state in (LinkState.BACKOFF, LinkState.AUTH_FAILED, LinkState.EVICTED):
            return [status(Status.UPSTREAM_DISCONNECTED, link.down_message())]
        return []

    def report(self, cluster: Cluster, wanted: bool, now: float) -> UpstreamReport:
        link = self.links[cluster]
        machine = link.machine
        healthy, problem = machine.healthy(now, wanted)
        return UpstreamReport(
            state=str(machine.state),
            sockets=1 if link.socket_open else 0,
            healthy=healthy,
            problem=problem,
            reconnect_attempts=machine.reconnect_attempts,
            last_error=machine.last_error,
            waiting_for_capacity=link.waiting_for_capacity,
        )

    def ready(self) -> bool:
        return True

    def membership(self) -> dict[str, Any]:
        host = self.host
        return {
            "role": self.role,
            "leader": host.node_id,
            "node": host.node_id,
            "clusterWide": {
                "instances": 1,
                "totalClients": sum(host.clients(c) for c in Cluster),
                "clients": {str(c): host.clients(c) for c in Cluster},
                "activeSubscriptions": {str(c): host.hub(c).active_channels for c in Cluster},
            },
        }
