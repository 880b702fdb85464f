"""The delivery engine: drains a channel's outbox in order, within Discord's limits.

A drain claims the channel's oldest open delivery, waits for a rate-limit permit (shared through
Postgres with every other sender), posts it, records the answer, and moves on, until the channel
has nothing due, another sender holds it, or the deadline comes. What is left is the caller's to
hand off (queue, sweeper).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Collection, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from uuid import UUID

import psycopg

from shared.delivery import ratelimit_store, store
from shared.delivery.store import ClaimedDelivery
from shared.discord.outcome import DeliveryUpdate, Outcome, after_attempt, classify_response, network_failure
from shared.discord.ratelimit import DISCORD_POLICY, RateLimitPolicy

if TYPE_CHECKING:  # the client pulls in `requests`; request handlers that never post skip it
    from shared.discord.client import DiscordClient, ExecuteResult

log = logging.getLogger(__name__)

Tx = Callable[[], AbstractContextManager[psycopg.Connection[Any]]]
# A claim outlives the longest wait for a permit plus one request with its timeouts.
DEFAULT_LEASE_S = 45.0
# Never start a request that could not finish before the deadline plus this much.
MIN_SEND_WINDOW_S = 0.05
BUSY_POLL_S = 0.05
# A channel row locked by another sender's claim or record is free again within milliseconds.
LOCKED_POLL_S = 0.01
LOCKED_TRIES = 50
# An attempt's answer is written this many times (a dropped connection, a failover) before the
# claim is left to run out; the write is idempotent.
RECORD_TRIES = 3
RECORD_RETRY_S = 0.2


@dataclass(frozen=True)
class DrainResult:
    """Why a drain stopped, and when the channel's head may next be tried (None: nothing open)."""

    reason: Literal["idle", "busy", "waiting", "deadline", "targets_done", "contended"]
    next_at: float | None
    sent: int = 0


def _default_tx() -> AbstractContextManager[psycopg.Connection[Any]]:
    from shared.db import service_tx

    return service_tx()


class DeliveryEngine:
    """Delivers outbox rows to Discord; safe to run in any number of threads and processes."""

    def __init__(
        self,
        client: DiscordClient,
        *,
        policy: RateLimitPolicy = DISCORD_POLICY,
        tx: Tx = _default_tx,
        lease_s: float = DEFAULT_LEASE_S,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.policy = policy
        self._tx = tx
        self.lease_s = lease_s
        self._clock = clock
        self._sleep = sleep

    def tx(self) -> AbstractContextManager[psycopg.Connection[Any]]:
        """A service_role transaction (the engine's only way to the database)."""
        return self._tx()

    def drain_channel(
        self,
        channel_id: UUID,
        *,
        deadline: float,
        targets: Collection[UUID] | None = None,
        max_wait_s: float | None = None,
    ) -> DrainResult:
        """Deliver the channel's due deliveries in order until `deadline` (or until `targets` are done).

        A rate limit further away than `max_wait_s` ends the drain ("waiting") instead of holding
        this sender asleep, so one sender can serve many channels.
        """
        sent = 0
        locked_tries = 0
        while True:
            now = self._clock()
            if targets is not None and not self._any_open(targets):
                return DrainResult("targets_done", self._next_open_at(channel_id), sent)
            if now + MIN_SEND_WINDOW_S >= deadline:
                return DrainResult("deadline", self._next_open_at(channel_id), sent)
            with self.tx() as conn:
                claim = store.claim_head(conn, channel_id, now=now, lease_s=self.lease_s)
            if claim.kind == "empty":
                return DrainResult("idle", None, sent)
            if claim.kind == "busy":
                return DrainResult("busy", claim.retry_at, sent)
            if claim.kind == "locked":
                # Not a holder we can rely on to hand the work on: try again, and if the row
                # stays locked, report "contended" so the caller hands the channel on itself.
                locked_tries += 1
                if locked_tries >= LOCKED_TRIES:
                    return DrainResult("contended", now, sent)
                self._sleep(LOCKED_POLL_S)
                continue
            locked_tries = 0
            if claim.kind == "not_due":
                return DrainResult("waiting", claim.retry_at, sent)
            assert claim.delivery is not None
            delivered = self._attempt(claim.delivery, deadline, max_wait_s)
            if delivered is None:
                return DrainResult("waiting", self._next_open_at(channel_id), sent)
            sent += delivered

    def _any_open(self, targets: Collection[UUID]) -> bool:
        with self.tx() as conn:
            return bool(store.open_statuses(conn, list(targets)))

    def _next_open_at(self, channel_id: UUID) -> float | None:
        with self.tx() as conn:
            return store.next_open_at(conn, channel_id)

    def _permits(self, delivery: ClaimedDelivery) -> tuple[str, str]:
        return (
            ratelimit_store.webhook_key(delivery.webhook.webhook_id),
            ratelimit_store.channel_key(delivery.discord_channel_id, delivery.webhook.webhook_id),
        )

    def _wait_for_permit(self, delivery: ClaimedDelivery, deadline: float, max_wait_s: float | None) -> float | None:
        """Take a permit, sleeping while it is near; None with the delivery released when it is not."""
        webhook, channel = self._permits(delivery)
        while True:
            now = self._clock()
            with self.tx() as conn:
                # The permit is timed on the database's clock; only its wait is carried onto ours.
                permit = ratelimit_store.try_acquire(conn, webhook, channel, self.policy)
                at = now + permit.wait_s
                # Waiting past the deadline, or past what the lease covers, is someone else's job.
                longest = self.lease_s / 2 if max_wait_s is None else min(max_wait_s, self.lease_s / 2)
                too_late = at + MIN_SEND_WINDOW_S >= deadline or permit.wait_s > longest
                if not permit.granted and too_late:
                    store.release(conn, delivery, retry_at=at)
                    return None
            if permit.granted:
                return now
            self._sleep(max(permit.wait_s, 0.001))

    def _attempt(self, delivery: ClaimedDelivery, deadline: float, max_wait_s: float | None) -> int | None:
        """One attempt at a claimed delivery: 1 when sent, 0 when not, None when it had to wait.

        Nothing that goes wrong here leaves the claim behind if the database can be reached: a
        claim left behind holds the channel's whole queue until its lease runs out.
        """
        try:
            granted = self._wait_for_permit(delivery, deadline, max_wait_s)
        except Exception:
            self._give_back(delivery)  # nothing was sent: the next sender may go at once
            raise
        if granted is None:
            return None
        result = self.client.execute(delivery.webhook, delivery.payload)
        outcome = _outcome(result)
        now = self._clock()
        update = after_attempt(outcome, attempts=delivery.attempts + 1, now=now, give_up_at=delivery.give_up_at)
        self._record(delivery, result, outcome, update, now)
        _log_attempt(delivery, outcome, update.status, result)
        return 1 if update.status == "sent" else 0

    def _record(
        self, delivery: ClaimedDelivery, result: ExecuteResult, outcome: Outcome, update: DeliveryUpdate, now: float
    ) -> None:
        """Write the answer and the delivery's new state, trying again when the database fails.

        If every try fails the claim stays until its lease runs out; whoever claims it then
        retries it and marks it `maybe_duplicated` (it may have been posted).
        """
        webhook, channel = self._permits(delivery)
        for attempt in range(1, RECORD_TRIES + 1):
            try:
                with self.tx() as conn:
                    ratelimit_store.record_answer(
                        conn,
                        webhook,
                        channel,
                        result.headers,
                        outcome.retry_after_s if outcome.kind == "rate_limited" else None,
                        outcome.is_global,
                    )
                    store.record_attempt(conn, delivery, update, now=now)
                return
            except psycopg.Error:
                extra = {"delivery_id": str(delivery.id), "channel_id": str(delivery.channel_id), "try": attempt}
                if attempt == RECORD_TRIES:
                    log.error("could not record a delivery attempt; its claim will run out", extra=extra)
                    raise
                log.warning("could not record a delivery attempt; trying again", exc_info=True, extra=extra)
                self._sleep(RECORD_RETRY_S * attempt)

    def _give_back(self, delivery: ClaimedDelivery) -> None:
        """Release a claimed delivery untried after an error, if the database lets us."""
        try:
            with self.tx() as conn:
                store.release(conn, delivery, retry_at=self._clock())
        except Exception:
            log.warning(
                "could not give a claimed delivery back; it is retried when its claim runs out",
                exc_info=True,
                extra={"delivery_id": str(delivery.id), "channel_id": str(delivery.channel_id)},
            )


def _outcome(result: ExecuteResult) -> Outcome:
    if result.status is None:
        return network_failure(result.network_error or "no answer", maybe_posted=result.maybe_posted)
    return classify_response(result.status, result.body, result.headers)


def _log_attempt(delivery: ClaimedDelivery, outcome: Outcome, status: str, result: ExecuteResult) -> None:
    extra = {
        "delivery_id": str(delivery.id),
        "channel_id": str(delivery.channel_id),
        "webhook": delivery.webhook.masked_url,
        "http_status": outcome.status,
        "delivery_status": status,
        "attempt": delivery.attempts + 1,
        "elapsed_ms": round((result.received_at - result.started_at) * 1000, 1),
    }
    if outcome.kind == "sent":
        log.info("discord delivery sent", extra=extra)
    elif outcome.kind == "rate_limited":
        log.warning("discord rate limited", extra={**extra, "retry_after_s": outcome.retry_after_s})
    elif outcome.maybe_posted:
        log.warning("discord delivery may be duplicated", extra={**extra, "error": outcome.error})
    else:
        log.warning("discord delivery failed", extra={**extra, "error": outcome.error})


def iter_due_channels(engine: DeliveryEngine, *, now: float) -> Iterator[UUID]:
    """Channels with work past its time, or held by a sender whose lease expired."""
    with engine.tx() as conn:
        channels = store.channels_needing_work(conn, now=now)
    yield from channels
