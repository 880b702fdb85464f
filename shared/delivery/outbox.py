"""The outbox: deliveries written in the caller's transaction, and read back without secrets.

These run on the caller's connection (normally `user_tx`, so RLS limits them to the user's own
channels and deliveries) and never commit: the alert and its deliveries stand or fall together.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb
from pydantic import BaseModel, ConfigDict

from shared.discord.errors import ChannelInactive, ChannelNotFound

ACTIONS = ("load", "enter", "update", "exit", "signal")

# The columns a delivery is shown with; never the payload's destination or the webhook.
DELIVERY_COLUMNS = """
    d.id, d.alert_id, d.channel_id, coalesce(c.name, d.channel_name) as channel_name, d.status,
    d.attempts, d.discord_message_id, d.last_error, d.maybe_duplicated, d.next_attempt_at,
    d.created_at, d.sent_at
"""


def enqueue_deliveries(
    conn: psycopg.Connection[Any],
    *,
    user_id: UUID,
    channel_ids: Sequence[UUID],
    payload: dict[str, Any],
    alert_id: UUID | None = None,
) -> list[UUID]:
    """One `pending` delivery of `payload` per channel, in the caller's transaction; ids in order.

    Raises ChannelNotFound for a channel that is not `user_id`'s and ChannelInactive for a
    deactivated one; nothing is written then (the caller's transaction rolls back on the error).
    """
    unique_ids = list(dict.fromkeys(UUID(str(channel_id)) for channel_id in channel_ids))
    if not unique_ids:
        return []
    rows = conn.execute(
        "select id, name, is_active, last_error from discord_channels"
        " where id = any(%s) and user_id = %s for key share",
        (unique_ids, user_id),
    ).fetchall()
    found = {r["id"]: r for r in rows}
    for channel_id in unique_ids:
        channel = found.get(channel_id)
        if channel is None:
            raise ChannelNotFound(channel_id)
        if not channel["is_active"]:
            raise ChannelInactive(channel_id, channel["last_error"])
    delivery_ids: list[UUID] = []
    for channel_id in unique_ids:
        inserted = conn.execute(
            "insert into alert_deliveries (user_id, alert_id, channel_id, channel_name, payload)"
            " values (%s, %s, %s, %s, %s) returning id",
            (user_id, alert_id, channel_id, found[channel_id]["name"], Jsonb(payload)),
        ).fetchone()
        assert inserted is not None
        delivery_ids.append(inserted["id"])
    return delivery_ids


class DeliveryOut(BaseModel):
    """A delivery as the API shows it (the shape of `delivery_view`)."""

    model_config = ConfigDict(defer_build=True)

    id: UUID
    alert_id: UUID | None
    channel_id: UUID | None
    channel_name: str
    status: Literal["pending", "sending", "sent", "failed", "dead"]
    attempts: int
    discord_message_id: str | None
    last_error: str | None
    maybe_duplicated: bool
    next_attempt_at: datetime | None
    created_at: datetime | None
    sent_at: datetime | None


def delivery_view(row: dict[str, Any]) -> dict[str, Any]:
    """A delivery as the API shows it: JSON-ready, no token, no URL."""
    return {
        "id": str(row["id"]),
        "alert_id": str(row["alert_id"]) if row.get("alert_id") else None,
        "channel_id": str(row["channel_id"]) if row.get("channel_id") else None,
        "channel_name": row["channel_name"],
        "status": row["status"],
        "attempts": row["attempts"],
        "discord_message_id": row["discord_message_id"],
        "last_error": row["last_error"],
        "maybe_duplicated": row["maybe_duplicated"],
        "next_attempt_at": _iso(row.get("next_attempt_at")) if row["status"] in ("pending", "failed") else None,
        "created_at": _iso(row.get("created_at")),
        "sent_at": _iso(row.get("sent_at")),
    }


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def get_deliveries(conn: psycopg.Connection[Any], delivery_ids: Sequence[UUID]) -> list[dict[str, Any]]:
    """The deliveries with these ids the connection may see, in the order asked, as `delivery_view`."""
    if not delivery_ids:
        return []
    rows = conn.execute(
        f"select {DELIVERY_COLUMNS} from alert_deliveries d"  # noqa: S608 - fixed column list
        " left join discord_channels c on c.id = d.channel_id where d.id = any(%s)",
        (list(delivery_ids),),
    ).fetchall()
    by_id = {r["id"]: delivery_view(r) for r in rows}
    return [by_id[i] for i in delivery_ids if i in by_id]


def deliveries_for_alerts(
    conn: psycopg.Connection[Any], alert_ids: Sequence[UUID]
) -> dict[UUID, list[dict[str, Any]]]:
    """Each alert's deliveries (id, channel_id, channel_name, status, attempts, discord_message_id,
    last_error, sent_at, …) in creation order; alerts without deliveries map to []."""
    result: dict[UUID, list[dict[str, Any]]] = {alert_id: [] for alert_id in alert_ids}
    if not alert_ids:
        return result
    rows = conn.execute(
        f"select {DELIVERY_COLUMNS} from alert_deliveries d"  # noqa: S608 - fixed column list
        " left join discord_channels c on c.id = d.channel_id"
        " where d.alert_id = any(%s) order by d.seq",
        (list(alert_ids),),
    ).fetchall()
    for row in rows:
        data = row
        result.setdefault(data["alert_id"], []).append(delivery_view(data))
    return result


def channels_for_action(conn: psycopg.Connection[Any], user_id: UUID, action: str) -> list[UUID]:
    """The user's active channels marked default for `action` (load|enter|update|exit|signal)."""
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
    rows = conn.execute(
        "select id from discord_channels where user_id = %s and is_active and %s = any(default_for)"
        " order by created_at, id",
        (user_id, action),
    ).fetchall()
    return [r["id"] for r in rows]


def global_default_channel(conn: psycopg.Connection[Any], user_id: UUID) -> UUID | None:
    """The user's active global default channel, if any."""
    row = conn.execute(
        "select id from discord_channels where user_id = %s and is_global_default and is_active",
        (user_id,),
    ).fetchone()
    return row["id"] if row is not None else None
