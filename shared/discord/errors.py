"""Errors the Discord channel and delivery code raises to its callers."""

from __future__ import annotations

from uuid import UUID


class DiscordError(Exception):
    """Base of every Discord-area error; `message` is safe to show (never a token)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ChannelNotFound(DiscordError):
    """The channel does not exist or is not the caller's (RLS makes both look the same)."""

    def __init__(self, channel_id: UUID) -> None:
        super().__init__(f"channel {channel_id} not found")
        self.channel_id = channel_id


class ChannelInactive(DiscordError):
    """The channel was deactivated (its webhook was deleted or its token refused)."""

    def __init__(self, channel_id: UUID, reason: str | None = None) -> None:
        detail = f": {reason}" if reason else ""
        super().__init__(f"channel {channel_id} is inactive{detail}")
        self.channel_id = channel_id
        self.reason = reason


class InvalidWebhookUrl(DiscordError):
    """A webhook URL that is not a Discord webhook URL; `message` says which part is wrong."""


class WebhookRejected(DiscordError):
    """Discord answered the live check with a definite no (deleted webhook, bad token)."""

    def __init__(self, message: str, *, status: int, code: int | None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code


class DiscordUnavailable(DiscordError):
    """Discord could not be asked (network trouble, 5xx, 429); try again after `retry_after_s`."""

    def __init__(self, message: str, *, retry_after_s: float = 5.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
