"""The relay node: each Massive cluster's hub and counters, client sessions, the reaper, and the coordinator
that keeps the upstream links (alone, or as one member of several relays).

Everything here runs in one gevent hub, so no locks: greenlets only switch on I/O.
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import gevent
from gevent.greenlet import Greenlet

from relay.admission import Gatekeeper
from relay.coordination import Coordinator, MemberHost, Verdict
from relay.coordination.standalone import Standalone
from relay.core.channels import Channel, ChannelError, Cluster
from relay.core.frames import Status, StatusEvent, status
from relay.core.health import ClusterCounters, ClusterReport, prometheus, ws_health
from relay.core.hub import ClusterHub, Refusal, RoutedFrame
from relay.core.liveness import Verdict as Liveness
from relay.core.ports import UpstreamSink
from relay.core.subscriptions import TooManyNames, name_problems, parse_request, refusals
from relay.core.upstream import ConnectionBudget
from relay.core.waiting import MAX_UNAUTHENTICATED, WaitingRoom
from relay.link import NewLink, UpstreamLink
from relay.session import CLOSE_NO_PONG, CLOSE_POLICY, CLOSE_TRY_AGAIN_LATER, ClientSession

log = logging.getLogger("relay.node")

REAP_INTERVAL_S = 0.5
# Massive may name every refused channel in one message, and each holder gets it once per
# channel: quoting it whole could bury a client holding hundreds of them.
MAX_QUOTED_UPSTREAM_MESSAGE = 300
DEFAULT_CHANNELS_PER_CLIENT = 200
Source = Literal["massive", "simulator"]
# How the node gets its coordinator: given the node and the way to build an upstream link.
Coordination = Callable[[MemberHost, NewLink], Coordinator]


@dataclass(frozen=True, slots=True)
class RelayConfig:
    """What the node needs from the settings."""

    upstream_url: str
    api_key: str
    max_upstream_connections: int
    max_clients: int
    idle_close_s: float
    ping_interval_s: float = 25.0
    pong_timeout_s: float = 10.0
    upstream_silence_s: float = 45.0
    max_channels_per_client: int = DEFAULT_CHANNELS_PER_CLIENT
    max_unauthenticated: int = MAX_UNAUTHENTICATED
    source: Source = "massive"
    node_id: str = "relay"


@dataclass(slots=True)
class ClusterRuntime:
    """One cluster's hub, counters and sessions (its upstream is the coordinator's)."""

    cluster: Cluster
    hub: ClusterHub
    counters: ClusterCounters
    sessions: dict[int, ClientSession] = field(default_factory=dict)


class RelayNode:
    """Owns every hub and session of this process, and the coordinator that keeps its upstreams."""

    def __init__(
        self, config: RelayConfig, gatekeeper: Gatekeeper, coordination: Coordination = Standalone
    ) -> None:
        self.config = config
        self.gatekeeper = gatekeeper
        self.ping_interval_s = config.ping_interval_s
        self.pong_timeout_s = config.pong_timeout_s
        self.started_at = time.time()
        self.budget = ConnectionBudget(config.max_upstream_connections)
        self._ids = itertools.count(1)
        self._sessions: dict[int, ClientSession] = {}
        self._unauthenticated: WaitingRoom[ClientSession] = WaitingRoom(config.max_unauthenticated)
        self._reaper: Greenlet | None = None
        self.clusters: dict[Cluster, ClusterRuntime] = {
            cluster: ClusterRuntime(
                cluster,
                ClusterHub(cluster, max_channels_per_client=config.max_channels_per_client),
                ClusterCounters(),
            )
            for cluster in Cluster
        }
        # `Standalone`, or one member of several relays behind one key (`RedisCoordinator`).
        self.coordinator: Coordinator = coordination(self, self.new_link)

    def new_link(
        self, cluster: Cluster, hub: ClusterHub, sink: UpstreamSink, gate: Callable[[], bool] | None = None
    ) -> UpstreamLink:
        """The upstream link of `cluster`, reporting to `sink` and counted in this node's counters."""
        config = self.config
        return UpstreamLink(
            cluster,
            url=f"{config.upstream_url.rstrip('/')}/{cluster}",
            api_key=config.api_key,
            hub=hub,
            budget=self.budget,
            counters=self.clusters[cluster].counters,
            sink=sink,
            idle_close_s=config.idle_close_s,
            silence_s=config.upstream_silence_s,
            gate=gate,
        )

    # --- life ------------------------------------------------------------------------------

    def start(self) -> None:
        self.coordinator.start()
        self._reaper = gevent.spawn(self._reap_forever)

    def shutdown(self) -> None:
        """The relay's one way to stop (SIGTERM): clients get 1001, the lease goes to a follower, then
        each upstream gets a close frame.

        Clients first, so none reads a "lost the upstream" status on the way out; the lease before the
        links stop, so a follower connects while this process is still closing.
        """
        if self._reaper is not None:
            self._reaper.kill(block=False)
        for session in list(self._sessions.values()) + self._unauthenticated.waiters():
            session.close(1001, "relay shutting down")
        self.coordinator.stop()

    @property
    def node_id(self) -> str:
        return self.config.node_id

    def hub(self, cluster: Cluster) -> ClusterHub:
        return self.clusters[cluster].hub

    def clients(self, cluster: Cluster) -> int:
        return len(self.clusters[cluster].sessions)

    def next_session_id(self) -> int:
        return next(self._ids)

    @property
    def client_count(self) -> int:
        return len(self._sessions)

    @property
    def unauthenticated_count(self) -> int:
        return len(self._unauthenticated)

    @property
    def simulated(self) -> bool:
        return self.config.source == "simulator"

    @property
    def greeting(self) -> str:
        """The `connected` status message; it says so when the data is simulated."""
        if self.simulated:
            return "Connected Successfully (simulated data from the relay's built-in simulator, not Massive)"
        return "Connected Successfully"

    def upstream_name(self, cluster: Cluster) -> str:
        if self.simulated:
            return f"the relay's built-in simulator ({cluster}): simulated data, not Massive"
        return f"Massive {cluster}"

    # --- sessions --------------------------------------------------------------------------

    def await_auth(self, session: ClientSession) -> None:
        """Hold a session upgraded without a token until it authenticates, turning out the oldest past the bound."""
        for oldest in self._unauthenticated.enter(session.sid, session):
            log.warning(
                "[ConnectionPool] client %s closed: %s sockets already wait to authenticate",
                oldest.sid,
                self._unauthenticated.limit,
                extra={"cluster": str(oldest.cluster), "remote": oldest.remote},
            )
            oldest.close(CLOSE_TRY_AGAIN_LATER, "too many connections waiting to authenticate")

    def register(self, session: ClientSession) -> bool:
        """Give an authenticated session a client slot; False when `RELAY_MAX_CLIENTS` are taken."""
        self._unauthenticated.leave(session.sid)
        if len(self._sessions) >= self.config.max_clients:
            log.warning(
                "[ConnectionPool] refused client %s: server full (%s clients)",
                session.sid,
                len(self._sessions),
                extra={"cluster": str(session.cluster)},
            )
            return False
        self._sessions[session.sid] = session
        runtime = self.clusters[session.cluster]
        runtime.sessions[session.sid] = session
        runtime.hub.add_client(session.sid)
        log.info(
            "[ConnectionPool] client %s registered on %s (%s clients)",
            session.sid,
            session.cluster,
            len(runtime.sessions),
            extra={"cluster": str(session.cluster), "remote": session.remote},
        )
        return True

    def unregister(self, session: ClientSession) -> None:
        """Forget a session and release its channels; safe to call more than once."""
        self._unauthenticated.leave(session.sid)
        if self._sessions.pop(session.sid, None) is None:
            return
        runtime = self.clusters[session.cluster]
        runtime.sessions.pop(session.sid, None)
        released = runtime.hub.remove_client(session.sid)
        if released:
            self._changed(runtime)
        log.info(
            "[ConnectionPool] client %s left %s (%s clients, %s channels released)",
            session.sid,
            session.cluster,
            len(runtime.sessions),
            len(released),
            extra={"cluster": str(session.cluster)},
        )

    def authenticated(self, session: ClientSession) -> None:
        """A session authenticated by its first frame: tell it how the upstream stands."""
        self._tell_upstream_state(session)

    def subscribe(self, session: ClientSession, params: str | list[str]) -> list[StatusEvent]:
        """Hold the valid channels of `params` for `session`: an ack per channel held, problems summarised."""
        runtime = self.clusters[session.cluster]
        try:
            channels, errors, repeats = parse_request(session.cluster, params, self.config.max_channels_per_client)
        except TooManyNames as error:
            return [status(Status.ERROR, str(error))]
        outcome = runtime.hub.subscribe(session.sid, channels)
        if runtime.hub.has_pending():
            self._leader_verdict(runtime, session, outcome.held, outcome.refused)
        events = [status(Status.SUCCESS, f"subscribed to: {channel.name}") for channel in outcome.held]
        events += name_problems(errors, repeats) + refusals(outcome.refused)
        if outcome.held:
            events += self._upstream_warning(runtime)
        return events

    def unsubscribe(self, session: ClientSession, params: str | list[str]) -> list[StatusEvent]:
        runtime = self.clusters[session.cluster]
        try:
            channels, errors, repeats = parse_request(session.cluster, params, self.config.max_channels_per_client)
        except TooManyNames as error:
            return [status(Status.ERROR, str(error))]
        outcome = runtime.hub.unsubscribe(session.sid, channels)
        if outcome.released:
            # Even with nothing to send, the link must see the cluster may now be idle.
            self._changed(runtime)
        events = [status(Status.SUCCESS, f"unsubscribed to: {c.name}") for c in outcome.released]
        events += refusals(ChannelError(c.name, "not subscribed") for c in outcome.not_held)
        events += name_problems(errors, repeats)
        return events

    def slow_consumer(self, session: ClientSession) -> None:
        """A client's queue overflowed: free it and close the client with 4008."""
        if session.closing:
            return
        runtime = self.clusters[session.cluster]
        runtime.counters.slow_consumer_disconnects += 1
        session.drop_queue()
        log.warning(
            "[ConnectionPool] client %s closed: slow consumer",
            session.sid,
            extra={"cluster": str(session.cluster)},
        )
        session.close(4008, "slow consumer")

    # --- from the upstream -----------------------------------------------------------------

    def deliver(self, cluster: Cluster, routed: RoutedFrame) -> None:
        """Queue each client's delivery of one upstream frame."""
        runtime = self.clusters[cluster]
        sessions = runtime.sessions
        events_out = 0
        conflated = 0
        for sid, delivery in routed.deliveries.items():
            session = sessions.get(sid)
            if session is None:
                continue
            conflated += session.push(delivery)
            events_out += delivery.events
        runtime.counters.events_out += events_out
        runtime.counters.events_conflated += conflated

    def broadcast(self, cluster: Cluster, event: StatusEvent) -> None:
        """Tell every authenticated client of `cluster`."""
        for session in list(self.clusters[cluster].sessions.values()):
            if session.liveness.authenticated:
                session.send(event)

    def upstream_refused(self, cluster: Cluster, message: str) -> None:
        """Massive answered with an error status: release what it names and tell the holders, else everyone."""
        runtime = self.clusters[cluster]
        quoted = _quote(message)
        refusal = runtime.hub.refusal(message)
        if refusal.cluster_wide:
            self.broadcast(cluster, status(Status.ERROR, f"upstream error: {quoted}"))
            return
        self._changed(runtime)
        for sid, channels in refusal.by_client().items():
            session = runtime.sessions.get(sid)
            if session is not None:
                # One status per client however many channels the message names: it quotes them all.
                session.send(status(Status.ERROR, f"upstream refused {_names(channels)}: {quoted}"))

    def _changed(self, runtime: ClusterRuntime) -> None:
        """The channels held here changed: tell the upstream link, or the leader."""
        self.coordinator.changed(runtime.cluster)

    def _leader_verdict(
        self, runtime: ClusterRuntime, session: ClientSession, held: list[Channel], refused: list[ChannelError]
    ) -> None:
        """Send channels new to this instance upstream; move what the leader refuses from `held` to `refused`."""
        verdict: Verdict = self.coordinator.sync(runtime.cluster)
        errors, refusal = verdict.errors, verdict.refusal
        if not errors:
            return
        reasons = {error.channel: error for error in errors}
        refused.extend(reasons[channel.name] for channel in held if channel.name in reasons)
        held[:] = [channel for channel in held if channel.name not in reasons]
        if refusal is not None:
            self._tell_refused(runtime, refusal, errors, skip=session.sid)

    def leader_refused(self, cluster: Cluster, refusal: Refusal, errors: list[ChannelError]) -> None:
        """The leader refused channels held here (its caps count every member's): tell their holders."""
        self._tell_refused(self.clusters[cluster], refusal, errors)

    def _tell_refused(
        self, runtime: ClusterRuntime, refusal: Refusal, errors: list[ChannelError], skip: int | None = None
    ) -> None:
        reasons = {error.channel: error for error in errors}
        for sid, names in refusal.by_client().items():
            session = runtime.sessions.get(sid)
            if session is not None and sid != skip:
                session.send(*refusals(reasons[name] for name in names if name in reasons))

    def from_fanout(self, cluster: Cluster, frame: bytes) -> None:
        """Events the cluster's leader published: routed to this instance's clients as if from Massive."""
        routed = self.clusters[cluster].hub.route(frame)
        if routed.deliveries:
            self.deliver(cluster, routed)

    def wake_links(self) -> None:
        """A socket slot was freed: let every link reconsider."""
        self.coordinator.wake_links()

    def _upstream_warning(self, runtime: ClusterRuntime) -> list[StatusEvent]:
        events = self.coordinator.upstream_events(runtime.cluster)
        return [event for event in events if event.status is not Status.UPSTREAM_CONNECTED]

    def _tell_upstream_state(self, session: ClientSession) -> None:
        session.send(*self.coordinator.upstream_events(session.cluster))

    # --- the reaper ------------------------------------------------------------------------

    def _reap_forever(self) -> None:
        while True:
            gevent.sleep(REAP_INTERVAL_S)
            try:
                self.reap(time.monotonic(), time.time())
            except Exception:
                log.exception("reaper failed")

    def reap(self, now: float, wall: float) -> None:
        """Ping, expire and drop sessions whose clocks say so."""
        for session in list(self._sessions.values()) + self._unauthenticated.waiters():
            verdict = session.liveness.check(now, wall)
            if verdict is Liveness.PING:
                session.ping(now)
            elif verdict is Liveness.AUTH_TIMEOUT:
                session.send(status(Status.AUTH_FAILED, "no auth frame within 5 s"))
                session.close(CLOSE_POLICY, "unauthorized")
            elif verdict is Liveness.TOKEN_EXPIRED:
                session.close(CLOSE_POLICY, "token expired")
            elif verdict is Liveness.NO_PONG:
                log.info(
                    "[ConnectionPool] client %s reaped: no pong",
                    session.sid,
                    extra={"cluster": str(session.cluster)},
                )
                session.close(CLOSE_NO_PONG, "no pong")

    # --- health ----------------------------------------------------------------------------

    def reports(self) -> dict[Cluster, ClusterReport]:
        now = time.monotonic()
        reports: dict[Cluster, ClusterReport] = {}
        for cluster, runtime in self.clusters.items():
            upstream = self.coordinator.report(cluster, runtime.hub.has_channels(), now)
            reports[cluster] = ClusterReport(
                total_clients=len(runtime.sessions),
                upstream_connections=upstream.sockets,
                active_subscriptions=runtime.hub.active_channels,
                connection_state=upstream.state,
                reconnect_attempts=upstream.reconnect_attempts,
                last_error=upstream.last_error,
                counters=runtime.counters,
                healthy=upstream.healthy,
                problem=upstream.problem,
                waiting_for_capacity=upstream.waiting_for_capacity,
            )
        return reports

    def ready(self) -> bool:
        """Whether this instance can serve clients (`/api/ready`): in a cluster, only while it reaches Redis."""
        return self.coordinator.ready()

    def ws_health(self) -> tuple[int, dict[str, object]]:
        code, body = self._ws_health()
        body.update(self.coordinator.membership())
        return code, body

    def _ws_health(self) -> tuple[int, dict[str, Any]]:
        return ws_health(
            self.reports(),
            now=time.time(),
            max_upstream_connections=self.config.max_upstream_connections,
            max_clients=self.config.max_clients,
            source=self.config.source,
            max_channels_per_client=self.config.max_channels_per_client,
            waiting_to_authenticate=self.unauthenticated_count,
        )

    def metrics_text(self) -> str:
        return prometheus(self.reports(), max_upstream_connections=self.config.max_upstream_connections)


def _names(channels: list[str]) -> str:
    shown = ", ".join(channels[:3])
    return shown + (f" and {len(channels) - 3} more" if len(channels) > 3 else "")


def _quote(message: str) -> str:
    if len(message) <= MAX_QUOTED_UPSTREAM_MESSAGE:
        return message
    return message[: MAX_QUOTED_UPSTREAM_MESSAGE - 1] + "…"
