"""The webhook execute body as Honey Drip sends it."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from shared.discord.payloads import Embed, EmbedField, EmbedFooter, WebhookPayload


def test_json_leaves_out_unset_keys_and_pings_nobody() -> None:
    payload = WebhookPayload(embeds=[Embed(title="🚀 ENTERED: SPY", color=0x2ECC71)])
    assert payload.to_json_dict() == {
        "embeds": [{"title": "🚀 ENTERED: SPY", "color": 0x2ECC71, "fields": []}],
        "allowed_mentions": {"parse": []},
    }


def test_fields_and_footer_render_as_discord_expects() -> None:
    embed = Embed(
        title="t",
        fields=[EmbedField(name="Entry", value="$1.20", inline=True)],
        footer=EmbedFooter(text="Honey Drip • Entry"),
        timestamp="2025-12-01T15:30:00+00:00",
    )
    assert WebhookPayload(embeds=[embed]).to_json_dict()["embeds"][0] == {
        "title": "t",
        "fields": [{"name": "Entry", "value": "$1.20", "inline": True}],
        "footer": {"text": "Honey Drip • Entry"},
        "timestamp": "2025-12-01T15:30:00+00:00",
    }


def test_a_dict_round_trips_through_the_model() -> None:
    body = {"embeds": [{"title": "x", "fields": [{"name": "a", "value": "b", "inline": False}]}]}
    assert WebhookPayload.model_validate(body).to_json_dict() == {**body, "allowed_mentions": {"parse": []}}


def test_an_unknown_key_is_refused() -> None:
    with pytest.raises(ValidationError, match="colour"):
        WebhookPayload.model_validate({"embeds": [{"title": "x", "colour": 1}]})


def test_a_colour_beyond_24_bits_is_refused() -> None:
    with pytest.raises(ValidationError, match="color"):
        Embed(title="x", color=0x1000000)


def test_an_unparseable_timestamp_is_refused() -> None:
    with pytest.raises(ValidationError, match="timestamp"):
        Embed(title="x", timestamp="yesterday")
