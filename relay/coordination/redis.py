"""Several relay processes behind one Massive key, coordinated through Redis: the I/O around the pure
`lease`, `leadership`, `fanout`, `messages` and `views` of `relay.coordination`.

Every instance (a *member*) serves its own clients with its own hubs, reports the channels they
hold (a snapshot key refreshed every second, and an intent on the `intents` channel at each
change) and subscribes in Redis to the shards carrying them. The member holding the lease is
the leader: it rebuilds the global subscription set from the members' snapshots, keeps the
upstream sockets (`LeaderTerm`), and publishes each routed upstream frame to the shards and its
upstream news on the control channel. Everything runs in the process's one gevent hub.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass
from typing import Any

import gevent
import redis
from gevent.event import AsyncResult, Event
from gevent.greenlet import Greenlet
from gevent.lock import Semaphore
from redis.backoff import NoBackoff
from redis.client import Pipeline, PubSub
from redis.retry import Retry

from relay.coordination import NO_VERDICT, MemberHost, Role, UpstreamReport, Verdict, messages
from relay.coordination.fanout import Fanout, Wanted
from relay.coordination.leadership import GlobalSubscriptions
from relay.coordination.lease import Holder, LeaseClock, RedisLease
from relay.coordination.messages import MessageError
from relay.coordination.views import News, UpstreamViews
from relay.core.channels import ChannelError, Cluster
from relay.core.frames import StatusEvent
from relay.core.hub import RoutedFrame
from relay.core.upstream import LinkState
from relay.link import NewLink, UpstreamLink

log = logging.getLogger("relay.cluster")

# The lease: a follower polls this often; the leader renews this often and stands down
# `LEASE_MARGIN_S` before a lease it could not renew would end.
LEASE_POLL_S = 0.25
LEASE_RENEW_S = 0.5
LEASE_MARGIN_S = 1.0
# Redis calls must fail fast: the leader's watchdog has only the margin to act on.
REDIS_TIMEOUT_S = 0.5
HEARTBEAT_S = 1.0
MEMBER_TTL_S = 5.0
LISTEN_TICK_S = 0.05
SUBSCRIBE_WAIT_S = 1.0
VERDICT_WAIT_S = 1.0
REDIS_RETRY_S = 0.5
# A member not heard from (Redis) for this long cannot serve events: /api/ready says so.
READY_REDIS_S = 3.0


def default_node_id() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


@dataclass(frozen=True, slots=True)
class MemberSnapshot:
    """What one member reported in its key."""

    member: str
    report: messages.Snapshot


def _snapshot(raw: bytes | str | None, member: str) -> MemberSnapshot | None:
    if raw is None:
        return None
    try:
        report = messages.decode(raw, "snapshot")
    except MessageError:
        return None
    return MemberSnapshot(member, report) if isinstance(report, messages.Snapshot) else None


class LeaderTerm:
    """One term of leadership: the global subscription set and the upstream links it drives.

    It is the `UpstreamSink` its links report to: what they would tell local clients is published
    to every member instead.
    """

    def __init__(self, coordinator: RedisCoordinator, holder: Holder) -> None:
        self.coordinator = coordinator
        self.holder = holder
        self.subs = GlobalSubscriptions()
        self.links: dict[Cluster, UpstreamLink] = {
            cluster: coordinator.new_link(cluster, self.subs.hubs[cluster], self, coordinator.may_connect)
            for cluster in Cluster
        }

    def start(self) -> None:
        for link in self.links.values():
            link.start()

    def halt(self) -> None:
        """Close every upstream socket, the clusters side by side (the lease's margin is short)."""
        gevent.joinall([gevent.spawn(link.halt) for link in self.links.values()])

    # --- what the links call on their sink ------------------------------------------------

    def upstream_name(self, cluster: Cluster) -> str:
        return self.coordinator.host.upstream_name(cluster)

    def broadcast(self, cluster: Cluster, event: StatusEvent) -> None:
        self.coordinator.publish_status(self.holder.token, cluster, event, str(self.links[cluster].machine.state))

    def deliver(self, cluster: Cluster, routed: RoutedFrame) -> None:
        self.coordinator.publish_events(cluster, routed)

    def upstream_refused(self, cluster: Cluster, message: str) -> None:
        self.subs.hubs[cluster].refusal(message)
        self.links[cluster].poke()
        self.coordinator.publish_control(messages.UpstreamRefused(self.holder.token, cluster, message))

    def wake_links(self) -> None:
        for link in self.links.values():
            link.poke()

    # --- members ---------------------------------------------------------------------------

    def apply_snapshot(self, snapshot: MemberSnapshot) -> None:
        refused = self.subs.snapshot(snapshot.member, snapshot.report.seq, snapshot.report.held)
        if refused is None:
            return
        for cluster, errors in refused.items():
            self.coordinator.send_verdict(snapshot.member, None, cluster, errors)
        self.wake_links()

    def apply_intent(self, intent: messages.Intent) -> None:
        member, cluster, rid = intent.member, intent.cluster, intent.rid
        refused = self.subs.intent(member, intent.seq, cluster, intent.sub, intent.unsub)
        if refused is None:
            # Already applied from the member's snapshot; its refusals went out then.
            refused = []
        if rid is not None or refused:
            self.coordinator.send_verdict(member, rid, cluster, refused)
        self.links[cluster].poke()

    def forget(self, member: str) -> None:
        self.subs.forget(member)
        self.wake_links()


class RedisCoordinator:
    """This member's part among the relays sharing a key: lease, reports, Redis subscriptions, a term when leading."""

    def __init__(
        self,
        host: MemberHost,
        new_link: NewLink,
        client: redis.Redis,
        *,
        prefix: str,
        node_id: str,
        ttl_s: float,
        shards: int,
    ) -> None:
        self.host = host
        self.new_link = new_link
        self.redis = client
        self.prefix = prefix
        self.node_id = node_id
        self.member = f"{node_id}#{secrets.token_hex(4)}"
        self.lease = RedisLease(client, prefix, ttl_s)
        self.clock = LeaseClock(ttl_s, min(LEASE_MARGIN_S, ttl_s / 3))
        self.fanout = Fanout(prefix, shards)
        self.ctl_channel = f"{prefix}:ctl"
        self.intents_channel = f"{prefix}:intents"
        self.inbox_channel = f"{prefix}:inbox:{self.member}"
        self.nodes_key = f"{prefix}:nodes"
        self.term: LeaderTerm | None = None
        self.views = UpstreamViews()
        self.redis_ok_at: float | None = None
        self._seq = 0
        self._flush_lock = Semaphore()
        self._verdicts: dict[str, AsyncResult] = {}
        self._wanted = {cluster: Wanted(frozenset()) for cluster in Cluster}
        self._subscribed: dict[Cluster, Wanted] | None = None
        self._subscribed_event = Event()
        self._dirty: set[Cluster] = set()
        self._dirty_event = Event()
        self._greenlets: list[Greenlet] = []
        self._stopping = False
        self._event_prefixes = {self.fanout.base(c).encode(): c for c in Cluster}

    # --- life --------------------------------------------------------------------------------

    def start(self) -> None:
        for loop in (self._lease_loop, self._watchdog, self._listen_loop, self._heartbeat_loop, self._flush_loop):
            self._greenlets.append(gevent.spawn(loop))

    def stop(self) -> None:
        """A planned stop (SIGTERM): close the upstream sockets, then free the lease at once for a follower."""
        self._stopping = True
        holder = self.term.holder if self.term is not None else None
        self._stand_down("shutting down")
        if holder is not None:
            try:
                self.lease.release(holder)
                self.publish_control(messages.Released(holder.token))
            except redis.RedisError:
                log.warning("[cluster] could not release the lease; it expires on its own")
        for greenlet in self._greenlets:
            greenlet.kill(block=False)
        try:
            self.redis.srem(self.nodes_key, self.member)
            self.redis.delete(self._member_key(self.member))
        except redis.RedisError:
            return

    @property
    def role(self) -> Role:
        return "leader" if self.term is not None else "follower"

    def ready(self) -> bool:
        """Redis answered lately and the events' subscriptions are in place."""
        fresh = self.redis_ok_at is not None and time.monotonic() - self.redis_ok_at < READY_REDIS_S
        return fresh and self._subscribed is not None

    def _ok(self) -> None:
        self.redis_ok_at = time.monotonic()

    def _member_key(self, member: str) -> str:
        return f"{self.prefix}:member:{member}"

    # --- the lease ---------------------------------------------------------------------------

    def _lease_loop(self) -> None:
        while not self._stopping:
            try:
                term = self.term
                if term is not None:
                    sent = time.monotonic()
                    if not self.lease.renew(term.holder):
                        self._stand_down("the lease is held by another member")
                    elif self.term is term:
                        self.clock.granted(sent)
                        self._ok()
                    else:
                        # The watchdog stood us down while this renewal hung: let a follower in now.
                        self.lease.release(term.holder)
                else:
                    sent = time.monotonic()
                    won, holder = self.lease.try_acquire(self.member)
                    self._ok()
                    if won and holder is not None:
                        self.clock.granted(sent)
                        self._lead(holder)
                    else:
                        self._observe(holder)
            except redis.RedisError as error:
                log.warning("[cluster] lease: Redis unreachable (%s)", type(error).__name__)
            gevent.sleep(LEASE_RENEW_S if self.term is not None else LEASE_POLL_S)

    def _watchdog(self) -> None:
        """Stand down before a lease that could not be renewed can end, whatever Redis calls hang."""
        while True:
            if self.term is not None and not self.clock.valid(time.monotonic()):
                self._stand_down("could not renew the lease in time")
            gevent.sleep(0.05)

    def may_connect(self) -> bool:
        """The fencing check before every upstream (re)connect: still leading, and Redis still says so."""
        term = self.term
        if term is None or self._stopping or not self.clock.valid(time.monotonic()):
            return False
        try:
            return self.lease.still_mine(term.holder)
        except redis.RedisError:
            return False

    def _lead(self, holder: Holder) -> None:
        self._observe(holder)
        log.info("[cluster] leading (token %s)", holder.token, extra={"node": self.node_id})
        term = LeaderTerm(self, holder)
        self.term = term
        self.publish_control(messages.Leader(holder.token, holder.member))
        # The global set comes from what the members report now, never from a former leader.
        self._reconcile(term)
        if self.term is term:
            term.start()

    def _stand_down(self, why: str) -> None:
        term = self.term
        if term is None:
            return
        self.term = None
        self.clock.lost()
        log.warning("[cluster] standing down: %s", why, extra={"node": self.node_id, "token": term.holder.token})
        term.halt()
        self._tell(self.views.leader_gone(term.holder.token, time.monotonic()))
        try:
            self.publish_control(messages.Released(term.holder.token))
        except redis.RedisError:
            return

    @property
    def holder(self) -> Holder | None:
        """Who leads, as far as this member knows."""
        return self.views.holder

    def _observe(self, holder: Holder | None) -> None:
        self._tell(self.views.observe(holder, time.monotonic()))

    def _tell(self, news: list[News]) -> None:
        """What the views say this member's clients must hear."""
        for cluster, event in news:
            self.host.broadcast(cluster, event)

    # --- reports -----------------------------------------------------------------------------

    def wake_links(self) -> None:
        term = self.term
        if term is not None:
            term.wake_links()

    def changed(self, cluster: Cluster) -> None:
        """Local holdings of `cluster` changed: report them soon."""
        self._dirty.add(cluster)
        self._dirty_event.set()

    def _flush_loop(self) -> None:
        while True:
            self._dirty_event.wait()
            self._dirty_event.clear()
            dirty, self._dirty = self._dirty, set()
            for cluster in dirty:
                try:
                    self.sync(cluster, wait=False)
                    self._ok()
                except redis.RedisError:
                    self._dirty.add(cluster)
                    gevent.sleep(REDIS_RETRY_S)
                    self._dirty_event.set()

    def sync(self, cluster: Cluster, *, wait: bool = True) -> Verdict:
        """Send this member's change of `cluster` to the leader; with `wait`, the channels it refused
        (already released here) and who held them."""
        hub = self.host.hub(cluster)
        with self._flush_lock:
            diff = hub.take_upstream_diff()
            if not diff:
                return NO_VERDICT
            self._seq += 1
            self._want(cluster, hub.upstream_channels())
            if diff.subscribe:
                # Be subscribed to the shards before the leader can publish to them.
                self._subscribed_event.clear()
                self._subscribed_event.wait(timeout=SUBSCRIBE_WAIT_S)
            rid = secrets.token_hex(6) if wait and diff.subscribe else None
            result: AsyncResult | None = None
            if rid is not None:
                result = self._verdicts[rid] = AsyncResult()
            intent = messages.Intent(self.member, self._seq, cluster, tuple(diff.subscribe),
                                     tuple(diff.unsubscribe), rid)
            try:
                pipe = self.redis.pipeline(transaction=True)
                self._write_snapshot(pipe)
                pipe.publish(self.intents_channel, messages.encode(intent))
                pipe.execute()
                self._ok()
            except redis.RedisError as error:
                # The next heartbeat's snapshot carries this change (its sequence is already taken);
                # the client is answered now rather than failed for want of Redis.
                log.warning("[cluster] could not report a subscription change (%s)", type(error).__name__)
                if rid is not None:
                    self._verdicts.pop(rid, None)
                return NO_VERDICT
        if result is None or rid is None:
            return NO_VERDICT
        try:
            verdict: Verdict = result.get(timeout=VERDICT_WAIT_S)
            return verdict
        except gevent.Timeout:
            # No leader just now (a takeover): the next one applies the caps to our snapshot.
            return NO_VERDICT
        finally:
            self._verdicts.pop(rid, None)

    def _write_snapshot(self, pipe: Pipeline) -> None:
        held = {c: tuple(self.host.hub(c).upstream_channels()) for c in Cluster}
        clients = {c: self.host.clients(c) for c in Cluster}
        report = messages.Snapshot(self.node_id, self._seq, held, clients)
        pipe.set(self._member_key(self.member), messages.encode(report), px=int(MEMBER_TTL_S * 1000))
        pipe.sadd(self.nodes_key, self.member)

    def _heartbeat_loop(self) -> None:
        while True:
            try:
                with self._flush_lock:
                    pipe = self.redis.pipeline(transaction=True)
                    self._write_snapshot(pipe)
                    pipe.execute()
                self._ok()
                term = self.term
                if term is not None:
                    self._reconcile(term)
                    for cluster, link in term.links.items():
                        state = link.machine.state
                        self.publish_control(messages.UpstreamState(term.holder.token, cluster,
                                                                    state is LinkState.CONNECTED, str(state)))
            except redis.RedisError as error:
                log.warning("[cluster] heartbeat: Redis unreachable (%s)", type(error).__name__)
            gevent.sleep(HEARTBEAT_S)

    def snapshots(self) -> list[MemberSnapshot]:
        members = sorted(_text(m) for m in self.redis.smembers(self.nodes_key))
        if not members:
            return []
        raws = self.redis.mget([self._member_key(m) for m in members])
        found: list[MemberSnapshot] = []
        gone: list[str] = []
        for member, raw in zip(members, raws, strict=True):
            snapshot = _snapshot(raw, member)
            if snapshot is None:
                gone.append(member)
            else:
                found.append(snapshot)
        if gone:
            self.redis.srem(self.nodes_key, *gone)
        return found

    def _reconcile(self, term: LeaderTerm) -> None:
        """The leader's anti-entropy: apply every member's latest snapshot, forget the silent ones."""
        try:
            snapshots = self.snapshots()
        except redis.RedisError:
            return
        alive = {snapshot.member for snapshot in snapshots}
        for snapshot in snapshots:
            term.apply_snapshot(snapshot)
        for member in term.subs.members():
            if member not in alive:
                term.forget(member)

    # --- Redis pub/sub -----------------------------------------------------------------------

    def _want(self, cluster: Cluster, held: list[str]) -> None:
        self._wanted[cluster] = self.fanout.wanted(cluster, held)

    def _listen_loop(self) -> None:
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                pubsub.subscribe(self.ctl_channel, self.intents_channel, self.inbox_channel)
                self._subscribed = {cluster: Wanted(frozenset()) for cluster in Cluster}
                while True:
                    self._apply_wanted(pubsub)
                    message = pubsub.get_message(timeout=LISTEN_TICK_S)
                    if message is not None:
                        self._dispatch(message)
            except (redis.RedisError, OSError) as error:
                log.warning("[cluster] pub/sub: Redis unreachable (%s)", type(error).__name__)
            except Exception:
                log.exception("[cluster] pub/sub listener failed")
            finally:
                self._subscribed = None
                with contextlib.suppress(redis.RedisError, OSError):
                    pubsub.close()
            gevent.sleep(REDIS_RETRY_S)

    def _apply_wanted(self, pubsub: PubSub) -> None:
        subscribed = self._subscribed
        assert subscribed is not None
        for cluster, wanted in self._wanted.items():
            have = subscribed[cluster]
            if have == wanted:
                continue
            removed = have.channels - wanted.channels
            added = wanted.channels - have.channels
            if have.pattern and have.pattern != wanted.pattern:
                pubsub.punsubscribe(have.pattern)
            if removed:
                pubsub.unsubscribe(*removed)
            if added:
                pubsub.subscribe(*added)
            if wanted.pattern and wanted.pattern != have.pattern:
                pubsub.psubscribe(wanted.pattern)
            subscribed[cluster] = wanted
        self._subscribed_event.set()

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel: bytes = message["channel"]
        data: bytes = message["data"]
        for base, cluster in self._event_prefixes.items():
            if channel.startswith(base):
                self.host.from_fanout(cluster, data)
                return
        text = channel.decode()
        try:
            if text == self.intents_channel:
                intent = messages.decode(data, "intent")
                term = self.term
                if term is not None and isinstance(intent, messages.Intent):
                    term.apply_intent(intent)
            elif text == self.inbox_channel:
                verdict = messages.decode(data, "verdict")
                if isinstance(verdict, messages.Verdict):
                    self._on_verdict(verdict)
            elif text == self.ctl_channel:
                self._on_control(messages.decode(data))
        except MessageError as error:
            log.warning("[cluster] ignored a message on %s: %s", text, error)

    def _on_verdict(self, verdict: messages.Verdict) -> None:
        cluster = verdict.cluster
        refused = verdict.errors
        refusal = self.host.hub(cluster).refuse(error.channel for error in refused)
        rid = verdict.rid
        waiting = self._verdicts.get(rid) if rid else None
        if waiting is not None:
            # The subscriber waiting for it answers its client and tells the other holders.
            waiting.set(Verdict(refused, refusal))
        elif refused:
            self.host.leader_refused(cluster, refusal, refused)

    def _on_control(self, message: messages.Message) -> None:
        now = time.monotonic()
        match message:
            case messages.Leader(token=token, member=member):
                self._observe(Holder(member, token))
            case messages.Released(token=token):
                self._tell(self.views.released(token, now))
            case messages.UpstreamStatus():
                self._tell_one(self.views.on_status(message, now))
            case messages.UpstreamState(cluster=cluster):
                self._tell_one(self.views.on_state(message, self.host.upstream_name(cluster)))
            case messages.UpstreamRefused(cluster=cluster, message=text):
                self.host.upstream_refused(cluster, text)
            case _:
                log.warning("[cluster] ignored a %s message on the control channel", message.t)

    def _tell_one(self, news: News | None) -> None:
        if news is not None:
            self.host.broadcast(*news)

    # --- the leader's publishing -------------------------------------------------------------

    def publish_control(self, message: messages.Control) -> None:
        self.redis.publish(self.ctl_channel, messages.encode(message))

    def publish_status(self, token: int, cluster: Cluster, event: StatusEvent, state: str) -> None:
        try:
            self.publish_control(messages.UpstreamStatus(token, cluster, event.status, event.message, state))
        except redis.RedisError:
            log.warning("[cluster] could not publish an upstream status")

    def publish_events(self, cluster: Cluster, routed: RoutedFrame) -> None:
        batches = self.fanout.batches(cluster, routed.names, [part for _, part in routed.all_parts])
        try:
            if len(batches) == 1:
                ((channel, payload),) = batches.items()
                self.redis.publish(channel, payload)
                return
            pipe = self.redis.pipeline(transaction=False)
            for channel, payload in batches.items():
                pipe.publish(channel, payload)
            pipe.execute()
        except redis.RedisError:
            log.warning("[cluster] could not publish events")

    def send_verdict(self, member: str, rid: str | None, cluster: Cluster, refused: list[ChannelError]) -> None:
        verdict = messages.Verdict(rid, cluster, tuple((e.channel, e.reason) for e in refused))
        try:
            self.redis.publish(f"{self.prefix}:inbox:{member}", messages.encode(verdict))
        except redis.RedisError:
            log.warning("[cluster] could not answer a member")

    # --- health ------------------------------------------------------------------------------

    def report(self, cluster: Cluster, wanted: bool, now: float) -> UpstreamReport:
        """The leader's link as it stands; a follower's view of it, healthy unless clients here wait long."""
        term = self.term
        if term is not None:
            link = term.links[cluster]
            machine = link.machine
            healthy, problem = machine.healthy(now, wanted or term.subs.hubs[cluster].has_channels())
            return UpstreamReport(str(machine.state), int(link.socket_open), healthy, problem,
                                  machine.reconnect_attempts, machine.last_error)
        return self.views.report(cluster, wanted, self.ready(), now)

    def upstream_events(self, cluster: Cluster) -> list[StatusEvent]:
        """What a client just authenticated is told about the upstream."""
        return self.views.events(cluster, self.host.upstream_name(cluster))

    def membership(self) -> dict[str, Any]:
        holder = self.holder
        return {
            "role": self.role,
            "leader": holder.node if holder is not None else None,
            "node": self.node_id,
            "clusterWide": self.member_totals(),
        }

    def member_totals(self) -> dict[str, Any]:
        """Counts over every live member, from their snapshots."""
        try:
            snapshots = self.snapshots()
            self._ok()
        except redis.RedisError:
            return {"instances": None, "totalClients": None, "activeSubscriptions": None}
        return {
            "instances": len(snapshots),
            "totalClients": sum(sum(s.report.clients.values()) for s in snapshots),
            "clients": {str(c): sum(s.report.clients.get(c, 0) for s in snapshots) for c in Cluster},
            "activeSubscriptions": {
                str(c): len({name for s in snapshots for name in s.report.held.get(c, ())}) for c in Cluster
            },
        }


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def connect_redis(url: str) -> redis.Redis:
    """A Redis client whose calls fail fast (the lease cannot wait on a stuck socket)."""
    return redis.Redis.from_url(
        url,
        socket_timeout=REDIS_TIMEOUT_S,
        socket_connect_timeout=REDIS_TIMEOUT_S,
        health_check_interval=0,
        retry=Retry(NoBackoff(), 0),
    )
