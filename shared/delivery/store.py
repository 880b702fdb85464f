"""The engine's SQL over deliveries and channels, run as service_role (the engine's shell).

Only one sender works on a channel's head at a time: a claim locks the channel row (skipping it
when another sender is claiming) and takes the oldest open delivery, so messages to one channel
go out in creation order. A claim is a lease: a sender that dies simply lets it expire.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import UUID

import psycopg

from shared.discord.outcome import DeliveryUpdate
from shared.discord.webhook_url import WebhookRef

OPEN_STATUSES = ("pending", "sending", "failed")


@dataclass(frozen=True)
class ClaimedDelivery:
    """A delivery this sender now holds (status `sending`) and where it goes."""

    id: UUID
    channel_id: UUID
    payload: dict[str, Any]
    attempts: int
    give_up_at: float
    previous_status: str
    webhook: WebhookRef = field(repr=False)
    discord_channel_id: str | None


@dataclass(frozen=True)
class Claim:
    """The result of trying to claim a channel's head."""

    # busy: another sender holds the head (it hands on what it leaves); locked: another sender is
    # claiming or recording this very moment (retry in a few milliseconds).
    kind: Literal["claimed", "empty", "busy", "locked", "not_due"]
    delivery: ClaimedDelivery | None = None
    # For busy / not_due: when the head may next be tried.
    retry_at: float | None = None


def claim_head(conn: psycopg.Connection[Any], channel_id: UUID, *, now: float, lease_s: float) -> Claim:
    """Claim the oldest open delivery of `channel_id` if it is due and nobody holds it."""
    channel = conn.execute(
        "select id, webhook_id, webhook_token, discord_channel_id, is_active, last_error"
        " from discord_channels where id = %s for no key update skip locked",
        (channel_id,),
    ).fetchone()
    if channel is None:
        exists = conn.execute("select 1 from discord_channels where id = %s", (channel_id,)).fetchone()
        return Claim("locked", retry_at=now + 0.01) if exists else Claim("empty")
    if not channel["is_active"]:
        kill_open_deliveries(conn, channel_id, f"channel inactive: {channel['last_error'] or 'deactivated'}", now)
        return Claim("empty")
    while True:
        head = conn.execute(
            "select id, payload, attempts, status, extract(epoch from next_attempt_at)::float8 as next_at,"
            " extract(epoch from claimed_until)::float8 as claimed_until,"
            " extract(epoch from give_up_at)::float8 as give_up_at"
            " from alert_deliveries where channel_id = %s and status = any(%s)"
            " order by seq limit 1 for update",
            (channel_id, list(OPEN_STATUSES)),
        ).fetchone()
        if head is None:
            return Claim("empty")
        if head["status"] == "sending" and head["claimed_until"] is not None and head["claimed_until"] > now:
            return Claim("busy", retry_at=head["claimed_until"])
        if head["give_up_at"] <= now:
            _write(conn, head["id"], DeliveryUpdate("dead", last_error="gave up after 24 h without delivering"), now)
            continue
        if head["status"] != "sending" and head["next_at"] > now:
            return Claim("not_due", retry_at=head["next_at"])
        previous = head["status"]
        if previous == "sending":
            # Its sender died mid-attempt (the lease ran out): it may have posted, so this retry
            # may post the message a second time.
            previous = "failed"
            conn.execute(
                "update alert_deliveries set last_error = %s, maybe_duplicated = true where id = %s",
                ("a sender stopped mid-attempt; retrying", head["id"]),
            )
        conn.execute(
            "update alert_deliveries set status = 'sending', claimed_until = to_timestamp(%s),"
            " updated_at = now() where id = %s",
            (now + lease_s, head["id"]),
        )
        return Claim(
            "claimed",
            delivery=ClaimedDelivery(
                id=head["id"],
                channel_id=channel_id,
                payload=head["payload"],
                attempts=head["attempts"],
                give_up_at=head["give_up_at"],
                previous_status=previous,
                webhook=WebhookRef(channel["webhook_id"], channel["webhook_token"]),
                discord_channel_id=channel["discord_channel_id"],
            ),
        )


def release(conn: psycopg.Connection[Any], delivery: ClaimedDelivery, *, retry_at: float) -> None:
    """Give a claimed delivery back untried, to be tried at `retry_at` (a limit was in the way)."""
    conn.execute(
        "update alert_deliveries set status = %s, claimed_until = null, next_attempt_at = to_timestamp(%s),"
        " updated_at = now() where id = %s and status = 'sending'",
        (delivery.previous_status, retry_at, delivery.id),
    )


def _write(conn: psycopg.Connection[Any], delivery_id: UUID, update: DeliveryUpdate, now: float) -> None:
    conn.execute(
        "update alert_deliveries set status = %s, claimed_until = null,"
        " next_attempt_at = coalesce(to_timestamp(%s), next_attempt_at),"
        " last_status = coalesce(%s, last_status), last_error = %s,"
        " discord_message_id = coalesce(%s, discord_message_id),"
        " maybe_duplicated = maybe_duplicated or %s,"
        " sent_at = case when %s = 'sent' then to_timestamp(%s) else sent_at end, updated_at = now()"
        " where id = %s",
        (
            update.status,
            update.next_attempt_at,
            update.last_status,
            update.last_error,
            update.message_id,
            update.maybe_duplicated,
            update.status,
            now,
            delivery_id,
        ),
    )


def record_attempt(
    conn: psycopg.Connection[Any], delivery: ClaimedDelivery, update: DeliveryUpdate, *, now: float
) -> bool:
    """Write an attempt's result; a gone webhook also deactivates the channel and ends its queue.

    Only a delivery still claimed (`sending`) is written, so recording again after a commit whose
    answer was lost changes nothing; False when there was nothing to write.
    """
    # Lock order is channel, then deliveries, as in claim_head: the reverse would deadlock.
    conn.execute("select 1 from discord_channels where id = %s for no key update", (delivery.channel_id,))
    claimed = conn.execute(
        "update alert_deliveries set attempts = attempts + 1 where id = %s and status = 'sending' returning id",
        (delivery.id,),
    ).fetchone()
    if claimed is None:
        return False
    _write(conn, delivery.id, update, now)
    if update.status == "sent":
        conn.execute(
            "update discord_channels set last_ok_at = to_timestamp(%s) where id = %s", (now, delivery.channel_id)
        )
    elif update.deactivate_channel:
        conn.execute(
            "update discord_channels set is_active = false, last_error = %s, updated_at = now() where id = %s",
            (update.deactivate_channel, delivery.channel_id),
        )
        kill_open_deliveries(conn, delivery.channel_id, f"channel inactive: {update.deactivate_channel}", now)
    elif update.last_error:
        conn.execute(
            "update discord_channels set last_error = %s where id = %s", (update.last_error, delivery.channel_id)
        )
    return True


def kill_open_deliveries(conn: psycopg.Connection[Any], channel_id: UUID, reason: str, now: float) -> int:
    """Mark every open delivery of a channel that can no longer be posted to `dead`."""
    return conn.execute(
        "update alert_deliveries set status = 'dead', claimed_until = null, last_error = %s, updated_at = now()"
        " where channel_id = %s and status in ('pending', 'failed')"
        " or (channel_id = %s and status = 'sending' and claimed_until < to_timestamp(%s))",
        (reason, channel_id, channel_id, now),
    ).rowcount


def next_open_at(conn: psycopg.Connection[Any], channel_id: UUID) -> float | None:
    """When the channel's head may next be tried (None when the channel has nothing open)."""
    row = conn.execute(
        "select status, extract(epoch from next_attempt_at)::float8 as next_at,"
        " extract(epoch from claimed_until)::float8 as claimed_until"
        " from alert_deliveries where channel_id = %s and status = any(%s) order by seq limit 1",
        (channel_id, list(OPEN_STATUSES)),
    ).fetchone()
    if row is None:
        return None
    if row["status"] == "sending":
        return float(row["claimed_until"] or 0.0)
    return float(row["next_at"])


def channels_of(conn: psycopg.Connection[Any], delivery_ids: Sequence[UUID]) -> list[UUID]:
    """The distinct channels of these deliveries, in the order first seen."""
    rows = conn.execute(
        "select id, channel_id from alert_deliveries where id = any(%s) and channel_id is not null",
        (list(delivery_ids),),
    ).fetchall()
    by_delivery = {row["id"]: row["channel_id"] for row in rows}
    return list(dict.fromkeys(by_delivery[i] for i in delivery_ids if i in by_delivery))


def open_statuses(conn: psycopg.Connection[Any], delivery_ids: Sequence[UUID]) -> set[UUID]:
    """Which of these deliveries are still open (pending, sending or failed)."""
    rows = conn.execute(
        "select id from alert_deliveries where id = any(%s) and status = any(%s)",
        (list(delivery_ids), list(OPEN_STATUSES)),
    ).fetchall()
    return {row["id"] for row in rows}


def channels_needing_work(conn: psycopg.Connection[Any], *, now: float, limit: int = 500) -> list[UUID]:
    """Channels whose head is due, or held by a sender whose lease ran out (oldest first)."""
    conn.execute(
        "update alert_deliveries set status = 'dead', claimed_until = null, last_error = 'channel deleted',"
        " updated_at = now() where channel_id is null and status in ('pending', 'sending', 'failed')"
    )
    rows = conn.execute(
        "select channel_id, min(seq) as first from alert_deliveries"
        " where channel_id is not null and ("
        "   (status in ('pending', 'failed') and next_attempt_at <= to_timestamp(%s))"
        "   or (status = 'sending' and claimed_until < to_timestamp(%s)))"
        " group by channel_id order by first limit %s",
        (now, now, limit),
    ).fetchall()
    return [row["channel_id"] for row in rows]
