"""Webhook URLs: only Discord's hosts and path shape are accepted; the token is never shown."""

from __future__ import annotations

import pytest

from shared.discord.errors import InvalidWebhookUrl
from shared.discord.webhook_url import WebhookRef, mask_webhook, parse_webhook_url

ID = "112233445566778899"
TOKEN = "AbC_def-123"


@pytest.mark.parametrize(
    "url",
    [
        f"https://discord.com/api/webhooks/{ID}/{TOKEN}",
        f"https://discordapp.com/api/webhooks/{ID}/{TOKEN}",
        f"https://ptb.discord.com/api/webhooks/{ID}/{TOKEN}",
        f"https://canary.discord.com/api/webhooks/{ID}/{TOKEN}",
        f"https://discord.com/api/v10/webhooks/{ID}/{TOKEN}",
        f"https://discord.com/api/webhooks/{ID}/{TOKEN}/",
        f"  HTTPS://Discord.com/api/webhooks/{ID}/{TOKEN}  ",
    ],
)
def test_discord_webhook_urls_are_accepted_in_canonical_form(url: str) -> None:
    ref = parse_webhook_url(url)
    assert ref.canonical_url == f"https://discord.com/api/webhooks/{ID}/{TOKEN}"


@pytest.mark.parametrize(
    ("url", "complaint"),
    [
        (f"http://discord.com/api/webhooks/{ID}/{TOKEN}", "https"),
        (f"ftp://discord.com/api/webhooks/{ID}/{TOKEN}", "https"),
        (f"javascript://discord.com/api/webhooks/{ID}/{TOKEN}", "https"),
        (f"//discord.com/api/webhooks/{ID}/{TOKEN}", "https"),
        (f"https://evil.example/api/webhooks/{ID}/{TOKEN}", "host"),
        (f"https://discord.com.evil.example/api/webhooks/{ID}/{TOKEN}", "host"),
        (f"https://evildiscord.com/api/webhooks/{ID}/{TOKEN}", "host"),
        (f"https://www.discord.com/api/webhooks/{ID}/{TOKEN}", "host"),
        (f"https://discord.com./api/webhooks/{ID}/{TOKEN}", "host"),
        (f"https://discord.com@evil.example/api/webhooks/{ID}/{TOKEN}", "host"),
        (f"https://user:pw@discord.com/api/webhooks/{ID}/{TOKEN}", "host"),
        (f"https://discord.com:8443/api/webhooks/{ID}/{TOKEN}", "host"),
        (f"https://discord.com:443/api/webhooks/{ID}/{TOKEN}", "host"),
        (f"https://162.159.128.233/api/webhooks/{ID}/{TOKEN}", "host"),
        (f"https://[2606:4700::6810:84e5]/api/webhooks/{ID}/{TOKEN}", "host"),
        (f"https://127.0.0.1/api/webhooks/{ID}/{TOKEN}", "host"),
        (f"https://localhost/api/webhooks/{ID}/{TOKEN}", "host"),
        (f"https://169.254.169.254/api/webhooks/{ID}/{TOKEN}", "host"),
        (f"https://bit.ly/api/webhooks/{ID}/{TOKEN}", "host"),
        (f"https://evil.example\\@discord.com/api/webhooks/{ID}/{TOKEN}", "backslash"),
        (f"https://discord.com/api/webhooks/{ID}/{TOKEN}?redirect=https://evil.example", "query"),
        (f"https://discord.com/api/webhooks/{ID}/{TOKEN}#x", "fragment"),
        (f"https://discord.com/api/webhooks/{ID}/%2e%2e", "encoded"),
        (f"https://discord.com/api/webhooks/{ID}/../../evil", "path"),
        (f"https://discord.com/api/webhook/{ID}/{TOKEN}", "path"),
        (f"https://discord.com/webhooks/{ID}/{TOKEN}", "path"),
        (f"https://discord.com/api/webhooks/{ID}", "path"),
        (f"https://discord.com/api/webhooks/{ID}/{TOKEN}/extra", "path"),
        (f"https://discord.com/api/webhooks/notanumber/{TOKEN}", "path"),
        (f"https://discord.com/api/webhooks/123/{TOKEN}", "path"),
        (f"https://discord.com/api/vX/webhooks/{ID}/{TOKEN}", "path"),
        (f"https://discord.com/api/webhooks/{ID}/tok en", "spaces"),
        (f"https://discord.com/api/webhooks/{ID}/tok\nen", "spaces"),
        ("", "empty"),
        ("discord.com/api/webhooks/x/y", "https"),
        ("https://discord.com/" + "a" * 600, "longer"),
    ],
)
def test_anything_but_a_discord_webhook_url_is_refused_saying_why(url: str, complaint: str) -> None:
    with pytest.raises(InvalidWebhookUrl) as refused:
        parse_webhook_url(url)
    assert complaint in refused.value.message


def test_the_masked_url_shows_four_digits_of_the_id_and_no_token() -> None:
    ref = parse_webhook_url(f"https://discord.com/api/webhooks/{ID}/{TOKEN}")
    assert ref.masked_url == "https://discord.com/api/webhooks/1122…/****"
    assert mask_webhook(ID) == ref.masked_url
    assert TOKEN not in repr(ref)


def test_a_reference_cannot_be_built_from_a_bad_id_or_token() -> None:
    with pytest.raises(InvalidWebhookUrl):
        WebhookRef("12", TOKEN)
    with pytest.raises(InvalidWebhookUrl):
        WebhookRef(ID, "../x")
