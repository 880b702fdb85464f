"""Discord webhook URLs: the only shape accepted, its canonical form, and its masked form.

Accepting only Discord's own hosts and path shape is also the guard against server-side request
forgery: nothing a user types is ever fetched; calls go to DISCORD_API_BASE with the id and token.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from shared.discord.errors import InvalidWebhookUrl

# Pinned: an unversioned path gets Discord's default version, whose answers (retry_after in
# milliseconds, once) are not the ones our code reads. v10's 429 body gives retry_after in seconds.
DISCORD_API_VERSION = 10
ALLOWED_HOSTS = frozenset({"discord.com", "discordapp.com", "ptb.discord.com", "canary.discord.com"})
CANONICAL_BASE = "https://discord.com/api/webhooks"
MAX_URL_LENGTH = 512
_PATH = re.compile(r"/api(?:/v[0-9]{1,2})?/webhooks/([0-9]{17,20})/([A-Za-z0-9_-]{1,100})/?")
_SNOWFLAKE = re.compile(r"[0-9]{17,20}")
_TOKEN = re.compile(r"[A-Za-z0-9_-]{1,100}")


@dataclass(frozen=True)
class WebhookRef:
    """A webhook's id and token; `repr` never shows the token."""

    webhook_id: str
    token: str = field(repr=False)

    def __post_init__(self) -> None:
        if not _SNOWFLAKE.fullmatch(self.webhook_id) or not _TOKEN.fullmatch(self.token):
            raise InvalidWebhookUrl("not a Discord webhook id and token")

    @property
    def canonical_url(self) -> str:
        """The form stored and shown (masked): https://discord.com/api/webhooks/<id>/<token>."""
        return f"{CANONICAL_BASE}/{self.webhook_id}/{self.token}"

    @property
    def masked_url(self) -> str:
        """The URL with the token hidden and the id shortened, safe for responses and logs."""
        return mask_webhook(self.webhook_id)

    def api_path(self) -> str:
        """The path under DISCORD_API_BASE that addresses this webhook, on the pinned API version."""
        return f"/v{DISCORD_API_VERSION}/webhooks/{self.webhook_id}/{self.token}"


def mask_webhook(webhook_id: str) -> str:
    """`https://discord.com/api/webhooks/1234…/****` for a webhook id."""
    return f"{CANONICAL_BASE}/{webhook_id[:4]}…/****"


def parse_webhook_url(raw: str) -> WebhookRef:
    """The id and token of a Discord webhook URL, or InvalidWebhookUrl saying what is wrong."""
    url = raw.strip()
    if not url:
        raise InvalidWebhookUrl("the webhook URL is empty")
    if len(url) > MAX_URL_LENGTH:
        raise InvalidWebhookUrl(f"the webhook URL is longer than {MAX_URL_LENGTH} characters")
    if any(ch.isspace() or ord(ch) < 0x20 or ord(ch) == 0x7F or ch == "\\" for ch in url):
        raise InvalidWebhookUrl("the webhook URL contains spaces, backslashes or control characters")
    try:
        parts = urlsplit(url)
    except ValueError:
        raise InvalidWebhookUrl("the webhook URL is not a URL") from None
    if parts.scheme.lower() != "https":
        raise InvalidWebhookUrl("the webhook URL must use https")
    # Compare the whole authority so user-info ("discord.com@evil.example"), ports and IP
    # literals can never slip through a parser disagreement.
    if parts.netloc.lower() not in ALLOWED_HOSTS:
        raise InvalidWebhookUrl(
            "the webhook URL's host must be discord.com, discordapp.com, ptb.discord.com or canary.discord.com"
        )
    if parts.query or parts.fragment or ";" in parts.path or "%" in parts.path:
        raise InvalidWebhookUrl("the webhook URL must not carry a query, fragment or encoded characters")
    match = _PATH.fullmatch(parts.path)
    if match is None:
        raise InvalidWebhookUrl("the webhook URL's path must be /api/webhooks/<numeric id>/<token>")
    return WebhookRef(webhook_id=match.group(1), token=match.group(2))
