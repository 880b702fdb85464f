"""Pydantic models of the body of Discord's webhook execute call (`POST /webhooks/{id}/{token}`).

Only the parts Honey Drip sends are modelled; unknown keys are refused so a typo never
reaches Discord as a silently dropped field.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

MAX_COLOR = 0xFFFFFF


class _DiscordModel(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")


class EmbedField(_DiscordModel):
    """One name/value pair of an embed."""

    name: str
    value: str
    inline: bool = False


class EmbedFooter(_DiscordModel):
    """The small text at the bottom of an embed."""

    text: str
    icon_url: str | None = None


class EmbedAuthor(_DiscordModel):
    """The line above an embed's title."""

    name: str
    url: str | None = None
    icon_url: str | None = None


class Embed(_DiscordModel):
    """A rich embed; Discord forces `type` to `rich`, so it is not modelled."""

    title: str | None = None
    description: str | None = None
    url: str | None = None
    color: int | None = Field(default=None, ge=0, le=MAX_COLOR)
    fields: list[EmbedField] = Field(default_factory=list)
    footer: EmbedFooter | None = None
    author: EmbedAuthor | None = None
    timestamp: str | None = None

    @field_validator("timestamp")
    @classmethod
    def _iso_timestamp(cls, value: str | None) -> str | None:
        # Discord answers 400 for a timestamp it cannot parse; refuse it before it is stored.
        if value is not None:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
        return value


class AllowedMentions(_DiscordModel):
    """Which mentions in `content` may ping; the default pings nobody."""

    parse: list[Literal["roles", "users", "everyone"]] = Field(default_factory=list)
    roles: list[str] | None = None
    users: list[str] | None = None


class WebhookPayload(_DiscordModel):
    """The JSON body of a webhook execute request."""

    content: str | None = None
    embeds: list[Embed] = Field(default_factory=list)
    username: str | None = None
    avatar_url: str | None = None
    allowed_mentions: AllowedMentions = Field(default_factory=AllowedMentions)

    def to_json_dict(self) -> dict[str, Any]:
        """The body as plain JSON types, without the keys left unset (None)."""
        return self.model_dump(mode="json", exclude_none=True)
