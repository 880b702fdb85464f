"""What a member believes about who leads and about each cluster's upstream, from the leader's messages
(pure: the time is passed in; what the member's clients must hear is returned, not sent).

The leader's links are far away: a member knows the upstream only from the control channel. A
message of an earlier leader (a lower fencing token) changes nothing, and when a leader goes,
every upstream it kept is believed lost until the next one says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

from relay.coordination import UpstreamReport
from relay.coordination.lease import Holder
from relay.coordination.messages import UpstreamState, UpstreamStatus
from relay.core.channels import Cluster
from relay.core.frames import Status, StatusEvent, status

LEADER_CHANGED = "the relay's leader changed; reconnecting to the upstream"
# A member whose clients have waited this long for an upstream that is down reports it unhealthy.
UNHEALTHY_AFTER_S = 10.0

News = tuple[Cluster, StatusEvent]


@dataclass(slots=True)
class UpstreamView:
    """A cluster's upstream as the leader last described it to this member."""

    state: str = "idle"
    connected: bool = False
    token: int = 0
    message: str | None = None
    down_since: float | None = None


class UpstreamViews:
    """Who leads (as far as this member knows) and the view of each cluster's upstream."""

    def __init__(self) -> None:
        self.holder: Holder | None = None
        self.views = {cluster: UpstreamView() for cluster in Cluster}

    def __getitem__(self, cluster: Cluster) -> UpstreamView:
        return self.views[cluster]

    def observe(self, holder: Holder | None, now: float) -> list[News]:
        """Note who leads; a change of leader means the upstream of the former one is gone."""
        previous = self.holder
        if holder == previous:
            return []
        self.holder = holder
        if previous is not None and (holder is None or holder.token > previous.token):
            return self.leader_gone(previous.token, now)
        return []

    def released(self, token: int, now: float) -> list[News]:
        """The leader of term `token` stood down."""
        if self.holder is not None and self.holder.token == token:
            self.holder = None
        return self.leader_gone(token, now)

    def leader_gone(self, token: int, now: float) -> list[News]:
        """Every upstream kept by the leader of term `token` (or an earlier one) is lost."""
        news: list[News] = []
        for cluster, view in self.views.items():
            if view.connected and view.token <= token:
                view.connected = False
                view.state = "connecting"
                view.message = LEADER_CHANGED
                view.down_since = now
                news.append((cluster, status(Status.UPSTREAM_DISCONNECTED, view.message)))
        return news

    def _current(self, cluster: Cluster, token: int, state: str | None) -> UpstreamView | None:
        """The cluster's view, updated to the leader's state, unless `token` is an earlier leader's."""
        view = self.views[cluster]
        if token < view.token or (self.holder is not None and token < self.holder.token):
            return None
        view.token = token
        view.state = state or view.state
        return view

    def on_status(self, news: UpstreamStatus, now: float) -> News | None:
        """A status of the leader's link: what this member's clients of that cluster are told, if anything."""
        view = self._current(news.cluster, news.token, news.state)
        if view is None:
            return None
        if news.status is Status.UPSTREAM_CONNECTED:
            view.message = None
            view.down_since = None
            if view.connected:
                return None
            view.connected = True
        elif news.status is Status.UPSTREAM_DISCONNECTED:
            view.message = news.message
            if view.down_since is None:
                view.down_since = now
            view.connected = False
        return news.cluster, status(news.status, news.message)

    def on_state(self, news: UpstreamState, upstream_name: str) -> News | None:
        """The leader's periodic word: an upstream this member missed coming up is announced now."""
        view = self._current(news.cluster, news.token, news.state)
        if view is None:
            return None
        if news.connected and not view.connected:
            view.connected = True
            view.message = None
            view.down_since = None
            return news.cluster, status(Status.UPSTREAM_CONNECTED, f"connected to {upstream_name}")
        return None

    def events(self, cluster: Cluster, upstream_name: str) -> list[StatusEvent]:
        """What a client just authenticated is told about the upstream."""
        view = self.views[cluster]
        if view.connected:
            return [status(Status.UPSTREAM_CONNECTED, f"connected to {upstream_name}")]
        if view.message:
            return [status(Status.UPSTREAM_DISCONNECTED, view.message)]
        return []

    def report(self, cluster: Cluster, wanted: bool, reachable: bool, now: float) -> UpstreamReport:
        """A follower's health of `cluster`: unhealthy without Redis, or when its clients wait too long."""
        view = self.views[cluster]
        if not reachable:
            return UpstreamReport(view.state, 0, False, f"{cluster}: this relay cannot reach Redis")
        if wanted and not view.connected and view.down_since is not None:
            down_for = now - view.down_since
            if down_for >= UNHEALTHY_AFTER_S:
                problem = f"{cluster}: clients are waiting and the upstream has been down {down_for:.0f} s"
                return UpstreamReport(view.state, 0, False, problem)
        return UpstreamReport(view.state, 0, True, None)
