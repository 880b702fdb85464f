"""The small grey embed `POST /api/discord/channels/<id>/test` posts to prove a channel works."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.discord.payloads import Embed, EmbedFooter, WebhookPayload

GREY = 0x95A5A6


def check_payload(channel_name: str, *, now: datetime | None = None) -> dict[str, Any]:
    """A test message naming the channel, stamped with the time it was asked for."""
    stamp = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    embed = Embed(
        title="✅ Honey Drip test message",
        description=f"The channel **{channel_name[:80]}** is connected. Alerts will appear here.",
        color=GREY,
        footer=EmbedFooter(text="Honey Drip • test"),
        timestamp=stamp,
    )
    return WebhookPayload(embeds=[embed]).to_json_dict()
