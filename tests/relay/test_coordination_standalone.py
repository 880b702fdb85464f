"""`Standalone` inside a real `RelayNode`, never started: what it reports and tells from its own links
(the links' machines are driven by hand; no socket, no greenlet)."""

from __future__ import annotations

import time

from relay.admission import Gatekeeper
from relay.coordination import NO_VERDICT
from relay.coordination.standalone import Standalone
from relay.core.channels import Cluster
from relay.core.frames import Status, status
from relay.node import RelayConfig, RelayNode
from shared.auth import TokenVerifier

OPTIONS, INDICES = Cluster.OPTIONS, Cluster.INDICES
SECRET = "unit-test-secret-0123456789abcdef0123"


def standalone_node() -> tuple[RelayNode, Standalone]:
    """A node built with the default coordination, and that coordination."""
    config = RelayConfig(
        upstream_url="ws://127.0.0.1:9/",
        api_key="key",
        max_upstream_connections=2,
        max_clients=10,
        idle_close_s=60.0,
        node_id="relay-test",
    )
    node = RelayNode(config, Gatekeeper(TokenVerifier(SECRET, None), None, frozenset()))
    assert isinstance(node.coordinator, Standalone)
    return node, node.coordinator


def test_a_node_without_other_coordination_is_standalone_with_one_link_per_cluster_on_its_own_hub() -> None:
    _, coordinator = standalone_node()
    assert coordinator.role == "standalone" and coordinator.ready()
    assert set(coordinator.links) == set(Cluster)
    assert coordinator.links[OPTIONS].url == "ws://127.0.0.1:9/options"
    assert coordinator.sync(OPTIONS) is NO_VERDICT


def test_its_membership_is_itself_alone() -> None:
    _, coordinator = standalone_node()
    assert coordinator.membership() == {
        "role": "standalone",
        "leader": "relay-test",
        "node": "relay-test",
        "clusterWide": {
            "instances": 1,
            "totalClients": 0,
            "clients": {"options": 0, "indices": 0},
            "activeSubscriptions": {"options": 0, "indices": 0},
        },
    }


def test_a_client_hears_of_the_upstream_only_when_it_is_up_or_in_trouble() -> None:
    _, coordinator = standalone_node()
    assert coordinator.upstream_events(OPTIONS) == []
    machine = coordinator.links[OPTIONS].machine
    machine.connecting(time.monotonic())
    machine.connected(time.monotonic())
    assert coordinator.upstream_events(OPTIONS) == [
        status(Status.UPSTREAM_CONNECTED, "connected to Massive options")
    ]
    machine.auth_failed("bad key", time.monotonic())
    (event,) = coordinator.upstream_events(OPTIONS)
    assert event.status is Status.UPSTREAM_DISCONNECTED
    assert event.message is not None and event.message.startswith("Massive refused the relay's API key")
    assert coordinator.upstream_events(INDICES) == []


def test_its_report_is_its_links() -> None:
    node, coordinator = standalone_node()
    idle = coordinator.report(OPTIONS, wanted=False, now=time.monotonic())
    assert (idle.state, idle.sockets, idle.healthy, idle.problem) == ("idle", 0, True, None)
    link = coordinator.links[OPTIONS]
    link.machine.auth_failed("bad key", time.monotonic())
    refused = coordinator.report(OPTIONS, wanted=True, now=time.monotonic())
    assert not refused.healthy and refused.reconnect_attempts == 1 and refused.last_error == "bad key"
    assert refused.problem is not None and "Massive refused the API key" in refused.problem
    reports = node.reports()
    assert reports[OPTIONS].connection_state == "auth_failed" and not reports[OPTIONS].healthy
    assert reports[INDICES].healthy
