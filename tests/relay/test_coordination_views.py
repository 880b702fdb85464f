"""A member's belief about who leads and each upstream, driven by the leader's messages (no Redis)."""

from __future__ import annotations

from relay.coordination.lease import Holder
from relay.coordination.messages import UpstreamState, UpstreamStatus
from relay.coordination.views import LEADER_CHANGED, UNHEALTHY_AFTER_S, UpstreamViews
from relay.core.channels import Cluster
from relay.core.frames import Status, status

OPTIONS, INDICES = Cluster.OPTIONS, Cluster.INDICES
NAME = "Massive options"


def connected(token: int, cluster: Cluster = OPTIONS) -> UpstreamStatus:
    return UpstreamStatus(token, cluster, Status.UPSTREAM_CONNECTED, f"connected to {NAME}", "connected")


def lost(token: int, message: str = "lost the upstream; reconnecting in 1.0 s") -> UpstreamStatus:
    return UpstreamStatus(token, OPTIONS, Status.UPSTREAM_DISCONNECTED, message, "backoff")


def test_a_new_member_knows_nothing_and_tells_a_client_nothing() -> None:
    views = UpstreamViews()
    assert views.holder is None
    assert views.events(OPTIONS, NAME) == []
    assert views[OPTIONS].state == "idle"


def test_the_leaders_connected_status_is_passed_on_once() -> None:
    views = UpstreamViews()
    views.observe(Holder("a#1", 1), now=0.0)
    announced = (OPTIONS, status(Status.UPSTREAM_CONNECTED, f"connected to {NAME}"))
    assert views.on_status(connected(1), now=1.0) == announced
    assert views.on_status(connected(1), now=2.0) is None
    assert views[OPTIONS].connected and views[OPTIONS].state == "connected"
    assert views.events(OPTIONS, NAME) == [status(Status.UPSTREAM_CONNECTED, f"connected to {NAME}")]
    assert views.events(INDICES, NAME) == []


def test_a_lost_upstream_is_passed_on_and_remembered_from_when_it_went_down() -> None:
    views = UpstreamViews()
    views.on_status(connected(1), now=0.0)
    assert views.on_status(lost(1), now=5.0) == (OPTIONS, status(Status.UPSTREAM_DISCONNECTED, lost(1).message))
    # A second word of the same outage keeps its start.
    views.on_status(lost(1, "lost the upstream; reconnecting in 2.0 s"), now=7.0)
    view = views[OPTIONS]
    assert not view.connected and view.down_since == 5.0 and view.state == "backoff"
    latest = status(Status.UPSTREAM_DISCONNECTED, "lost the upstream; reconnecting in 2.0 s")
    assert views.events(OPTIONS, NAME) == [latest]
    views.on_status(connected(1), now=9.0)
    assert views[OPTIONS].down_since is None and views[OPTIONS].message is None


def test_other_statuses_of_the_leaders_link_are_passed_on_as_they_are() -> None:
    views = UpstreamViews()
    capacity = UpstreamStatus(1, OPTIONS, Status.ERROR, "no upstream connection for options", "idle")
    assert views.on_status(capacity, now=0.0) == (OPTIONS, status(Status.ERROR, "no upstream connection for options"))
    assert not views[OPTIONS].connected


def test_news_from_an_earlier_leader_changes_nothing() -> None:
    views = UpstreamViews()
    views.observe(Holder("b#2", 5), now=0.0)
    assert views.on_status(connected(4), now=1.0) is None
    assert views.on_state(UpstreamState(4, OPTIONS, True, "connected"), NAME) is None
    assert not views[OPTIONS].connected and views[OPTIONS].token == 0
    views.on_status(connected(5), now=2.0)
    assert views.on_status(lost(3), now=3.0) is None
    assert views[OPTIONS].connected and views[OPTIONS].token == 5


def test_the_periodic_state_announces_an_upstream_a_member_missed_coming_up() -> None:
    views = UpstreamViews()
    assert views.on_state(UpstreamState(2, OPTIONS, True, "connected"), NAME) == (
        OPTIONS, status(Status.UPSTREAM_CONNECTED, f"connected to {NAME}"),
    )
    assert views.on_state(UpstreamState(2, OPTIONS, True, "connected"), NAME) is None
    # It never announces a loss (the status does), but it keeps the state current.
    assert views.on_state(UpstreamState(2, OPTIONS, False, "backoff"), NAME) is None
    assert views[OPTIONS].connected and views[OPTIONS].state == "backoff"


def test_a_new_leader_means_the_former_ones_upstreams_are_lost() -> None:
    views = UpstreamViews()
    views.observe(Holder("a#1", 1), now=0.0)
    views.on_status(connected(1, OPTIONS), now=1.0)
    views.on_status(connected(1, INDICES), now=1.0)
    news = views.observe(Holder("b#2", 2), now=10.0)
    assert news == [
        (OPTIONS, status(Status.UPSTREAM_DISCONNECTED, LEADER_CHANGED)),
        (INDICES, status(Status.UPSTREAM_DISCONNECTED, LEADER_CHANGED)),
    ]
    assert views.holder == Holder("b#2", 2)
    view = views[OPTIONS]
    assert not view.connected and view.state == "connecting" and view.down_since == 10.0
    # The same leader seen again is no news; neither is an older one.
    assert views.observe(Holder("b#2", 2), now=11.0) == []
    assert views.observe(Holder("a#1", 1), now=12.0) == []


def test_an_upstream_the_new_leader_already_reported_is_not_lost_with_the_old_one() -> None:
    views = UpstreamViews()
    views.observe(Holder("a#1", 1), now=0.0)
    views.on_status(connected(2), now=1.0)  # the next leader spoke before we saw it take over
    assert views.observe(Holder("b#2", 2), now=2.0) == []
    assert views[OPTIONS].connected


def test_a_released_lease_forgets_its_holder_and_loses_its_upstreams() -> None:
    views = UpstreamViews()
    views.observe(Holder("a#1", 1), now=0.0)
    views.on_status(connected(1), now=1.0)
    assert views.released(1, now=3.0) == [(OPTIONS, status(Status.UPSTREAM_DISCONNECTED, LEADER_CHANGED))]
    assert views.holder is None
    assert views.released(1, now=4.0) == []


def test_a_release_of_an_earlier_term_keeps_the_current_holder() -> None:
    views = UpstreamViews()
    views.observe(Holder("b#2", 2), now=0.0)
    views.released(1, now=1.0)
    assert views.holder == Holder("b#2", 2)


def test_a_follower_is_unhealthy_without_redis() -> None:
    report = UpstreamViews().report(OPTIONS, wanted=False, reachable=False, now=0.0)
    assert not report.healthy and report.problem == "options: this relay cannot reach Redis"
    assert report.sockets == 0 and report.state == "idle"


def test_a_follower_is_unhealthy_once_its_clients_waited_too_long_for_a_lost_upstream() -> None:
    views = UpstreamViews()
    views.on_status(connected(1), now=0.0)
    views.on_status(lost(1), now=100.0)
    assert views.report(OPTIONS, wanted=True, reachable=True, now=100.0 + UNHEALTHY_AFTER_S - 0.1).healthy
    assert views.report(OPTIONS, wanted=False, reachable=True, now=200.0).healthy
    late = views.report(OPTIONS, wanted=True, reachable=True, now=100.0 + UNHEALTHY_AFTER_S)
    assert not late.healthy
    assert late.problem == "options: clients are waiting and the upstream has been down 10 s"
    assert late.state == "backoff"
