"""Discord's message and embed limits, and fitting a payload inside them.

Discord refuses (400, code 50035) a message over any limit, so every payload is fitted before
it is stored or sent: overlong text is cut with an ellipsis, never rejected.

Lengths are counted in UTF-16 code units of the whitespace-trimmed text. Discord trims before
counting; UTF-16 units are never fewer than code points, so an emoji-heavy text that fits by
this count fits by whichever count Discord applies.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.discord.payloads import Embed, EmbedField, WebhookPayload

TITLE_MAX = 256
DESCRIPTION_MAX = 4096
FIELDS_MAX = 25
FIELD_NAME_MAX = 256
FIELD_VALUE_MAX = 1024
FOOTER_MAX = 2048
AUTHOR_MAX = 256
EMBEDS_TOTAL_MAX = 6000
EMBEDS_MAX = 10
CONTENT_MAX = 2000
USERNAME_MAX = 80

ELLIPSIS = "…"
# Discord refuses an empty field name or value; a zero-width space is the usual stand-in.
EMPTY_FIELD_TEXT = "\u200b"


def text_length(text: str | None) -> int:
    """The length Discord counts for `text`: UTF-16 code units after trimming whitespace."""
    if not text:
        return 0
    return len(text.strip().encode("utf-16-le")) // 2


def cut_text(text: str, limit: int) -> str:
    """`text` unchanged when it fits in `limit`, else trimmed and cut to end with an ellipsis."""
    if text_length(text) <= limit:
        return text
    budget = max(limit - 1, 0)
    used = 0
    kept = 0
    stripped = text.strip()
    for char in stripped:
        width = 2 if ord(char) > 0xFFFF else 1
        if used + width > budget:
            break
        used += width
        kept += 1
    return stripped[:kept].rstrip() + ELLIPSIS


def _as_payload(payload: WebhookPayload | Mapping[str, Any]) -> WebhookPayload:
    if isinstance(payload, WebhookPayload):
        return payload
    return WebhookPayload.model_validate(payload)


def _embed_length(embed: Embed) -> int:
    total = text_length(embed.title) + text_length(embed.description)
    total += sum(text_length(f.name) + text_length(f.value) for f in embed.fields)
    if embed.footer is not None:
        total += text_length(embed.footer.text)
    if embed.author is not None:
        total += text_length(embed.author.name)
    return total


def payload_text_length(payload: WebhookPayload | Mapping[str, Any]) -> int:
    """The text Discord counts against the 6000 limit: every embed's title, description,
    field names and values, footer and author (`content` has its own limit)."""
    return sum(_embed_length(embed) for embed in _as_payload(payload).embeds)


def _fit_field(field: EmbedField) -> EmbedField:
    name = cut_text(field.name, FIELD_NAME_MAX) if field.name.strip() else EMPTY_FIELD_TEXT
    value = cut_text(field.value, FIELD_VALUE_MAX) if field.value.strip() else EMPTY_FIELD_TEXT
    return EmbedField(name=name, value=value, inline=field.inline)


def _fit_embed_alone(embed: Embed) -> Embed:
    fitted = embed.model_copy(deep=True)
    if fitted.title is not None:
        fitted.title = cut_text(fitted.title, TITLE_MAX)
    if fitted.description is not None:
        fitted.description = cut_text(fitted.description, DESCRIPTION_MAX)
    fitted.fields = [_fit_field(f) for f in fitted.fields[:FIELDS_MAX]]
    if fitted.footer is not None:
        fitted.footer.text = cut_text(fitted.footer.text, FOOTER_MAX)
    if fitted.author is not None:
        fitted.author.name = cut_text(fitted.author.name, AUTHOR_MAX)
    return fitted


def _shrink_to_total(embeds: list[Embed]) -> None:
    """Cut text, least important first, until the embeds together fit in EMBEDS_TOTAL_MAX."""

    def excess() -> int:
        return sum(_embed_length(e) for e in embeds) - EMBEDS_TOTAL_MAX

    def shrunk(text: str) -> str:
        return cut_text(text, max(1, text_length(text) - excess()))

    # Free text (the admin's comment) goes first, then field values from the last field up,
    # then the labels; titles last because they say what the alert is.
    for embed in reversed(embeds):
        if excess() <= 0:
            return
        if embed.description:
            embed.description = shrunk(embed.description)
    for embed in reversed(embeds):
        for field in reversed(embed.fields):
            if excess() <= 0:
                return
            field.value = shrunk(field.value)
    for embed in reversed(embeds):
        if excess() > 0 and embed.footer is not None:
            embed.footer.text = shrunk(embed.footer.text)
        if excess() > 0 and embed.author is not None:
            embed.author.name = shrunk(embed.author.name)
        for field in reversed(embed.fields):
            if excess() <= 0:
                return
            field.name = shrunk(field.name)
    for embed in reversed(embeds):
        if excess() > 0 and embed.title:
            embed.title = shrunk(embed.title)


def fit_payload(payload: WebhookPayload | Mapping[str, Any]) -> WebhookPayload:
    """A copy of `payload` cut to fit every Discord limit; a payload that fits comes back equal."""
    source = _as_payload(payload)
    fitted = source.model_copy(deep=True)
    if fitted.content is not None:
        fitted.content = cut_text(fitted.content, CONTENT_MAX)
    if fitted.username is not None:
        fitted.username = cut_text(fitted.username, USERNAME_MAX)
    fitted.embeds = [_fit_embed_alone(e) for e in fitted.embeds[:EMBEDS_MAX]]
    _shrink_to_total(fitted.embeds)
    return fitted


def _measure(length: int, limit: int) -> dict[str, int | bool]:
    return {"length": length, "limit": limit, "ok": length <= limit}


def limit_report(payload: WebhookPayload | Mapping[str, Any]) -> dict[str, Any]:
    """Each counted length of `payload` beside its limit, and `within_limits` overall."""
    source = _as_payload(payload)
    violations: list[str] = []
    embeds_report: list[dict[str, Any]] = []
    for index, embed in enumerate(source.embeds):
        parts: dict[str, Any] = {
            "title": _measure(text_length(embed.title), TITLE_MAX),
            "description": _measure(text_length(embed.description), DESCRIPTION_MAX),
            "fields": _measure(len(embed.fields), FIELDS_MAX),
            "field_name_max": _measure(
                max((text_length(f.name) for f in embed.fields), default=0), FIELD_NAME_MAX
            ),
            "field_value_max": _measure(
                max((text_length(f.value) for f in embed.fields), default=0), FIELD_VALUE_MAX
            ),
            "footer": _measure(text_length(embed.footer.text if embed.footer else None), FOOTER_MAX),
            "author": _measure(text_length(embed.author.name if embed.author else None), AUTHOR_MAX),
        }
        for name, measure in parts.items():
            if not measure["ok"]:
                violations.append(f"embeds[{index}].{name}: {measure['length']} > {measure['limit']}")
        embeds_report.append(parts)
    top: dict[str, Any] = {
        "total": _measure(payload_text_length(source), EMBEDS_TOTAL_MAX),
        "content": _measure(text_length(source.content), CONTENT_MAX),
        "embeds": _measure(len(source.embeds), EMBEDS_MAX),
        "username": _measure(text_length(source.username), USERNAME_MAX),
    }
    for name, measure in top.items():
        if not measure["ok"]:
            violations.append(f"{name}: {measure['length']} > {measure['limit']}")
    return {**top, "per_embed": embeds_report, "violations": violations, "within_limits": not violations}
