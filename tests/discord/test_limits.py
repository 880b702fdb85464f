"""Discord's limits: payloads are measured as Discord counts them and cut to fit, never over."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from shared.discord.limits import (
    CONTENT_MAX,
    DESCRIPTION_MAX,
    ELLIPSIS,
    EMBEDS_MAX,
    EMBEDS_TOTAL_MAX,
    EMPTY_FIELD_TEXT,
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    FOOTER_MAX,
    TITLE_MAX,
    cut_text,
    fit_payload,
    limit_report,
    payload_text_length,
    text_length,
)
from shared.discord.payloads import Embed, EmbedAuthor, EmbedField, EmbedFooter, WebhookPayload


def _embed(**kw: object) -> Embed:
    return Embed.model_validate({"title": "t", **kw})


def test_the_limits_are_discords_documented_numbers() -> None:
    assert (TITLE_MAX, DESCRIPTION_MAX, FIELDS_MAX) == (256, 4096, 25)
    assert (FIELD_NAME_MAX, FIELD_VALUE_MAX) == (256, 1024)
    assert (FOOTER_MAX, EMBEDS_TOTAL_MAX, EMBEDS_MAX, CONTENT_MAX) == (2048, 6000, 10, 2000)


def test_length_ignores_surrounding_whitespace() -> None:
    assert text_length("  abc \n") == 3


def test_length_counts_an_astral_emoji_as_two_units() -> None:
    assert text_length("🚀") == 2
    assert text_length("é") == 1


def test_text_that_fits_is_not_cut() -> None:
    assert cut_text("x" * 256, 256) == "x" * 256


def test_text_over_the_limit_ends_with_an_ellipsis_at_the_limit() -> None:
    cut = cut_text("x" * 300, 256)
    assert cut.endswith(ELLIPSIS)
    assert text_length(cut) == 256


def test_cutting_never_splits_an_emoji() -> None:
    cut = cut_text("🚀" * 10, 6)
    assert cut == "🚀🚀" + ELLIPSIS
    assert text_length(cut) <= 6


def test_total_length_sums_title_description_fields_footer_and_author_of_every_embed() -> None:
    payload = WebhookPayload(
        content="not counted",
        embeds=[
            Embed(
                title="ab",
                description="cde",
                fields=[EmbedField(name="f", value="gh")],
                footer=EmbedFooter(text="ijkl"),
                author=EmbedAuthor(name="m"),
            ),
            Embed(title="n"),
        ],
    )
    assert payload_text_length(payload) == 2 + 3 + 1 + 2 + 4 + 1 + 1


def test_total_length_accepts_a_plain_dict() -> None:
    assert payload_text_length({"embeds": [{"title": "abc"}]}) == 3


def test_a_payload_that_fits_comes_back_equal() -> None:
    payload = WebhookPayload(embeds=[_embed(description="d", fields=[EmbedField(name="n", value="v")])])
    assert fit_payload(payload) == payload


def test_fitting_does_not_change_the_original() -> None:
    payload = WebhookPayload(embeds=[_embed(title="x" * 300)])
    fit_payload(payload)
    assert payload.embeds[0].title == "x" * 300


def test_each_overlong_part_is_cut_to_its_own_limit() -> None:
    payload = WebhookPayload(
        content="c" * 2500,
        embeds=[
            _embed(
                title="t" * 300,
                fields=[EmbedField(name="n" * 300, value="v" * 1100)],
                footer=EmbedFooter(text="f" * 2100),
            )
        ],
    )
    fitted = fit_payload(payload)
    embed = fitted.embeds[0]
    assert text_length(fitted.content) == CONTENT_MAX
    assert text_length(embed.title) == TITLE_MAX
    assert text_length(embed.fields[0].name) == FIELD_NAME_MAX
    assert text_length(embed.fields[0].value) == FIELD_VALUE_MAX
    assert embed.footer is not None and text_length(embed.footer.text) == FOOTER_MAX


def test_more_than_25_fields_keeps_the_first_25() -> None:
    fields = [EmbedField(name=f"n{i}", value="v") for i in range(30)]
    fitted = fit_payload(WebhookPayload(embeds=[_embed(fields=fields)]))
    assert [f.name for f in fitted.embeds[0].fields] == [f"n{i}" for i in range(25)]


def test_more_than_10_embeds_keeps_the_first_10() -> None:
    fitted = fit_payload(WebhookPayload(embeds=[_embed(title=str(i)) for i in range(12)]))
    assert [e.title for e in fitted.embeds] == [str(i) for i in range(10)]


def test_over_6000_in_all_cuts_the_description_first_and_keeps_the_fields() -> None:
    fields = [EmbedField(name="Entry", value="v" * 1000) for _ in range(3)]
    payload = WebhookPayload(embeds=[_embed(description="d" * 4096, fields=fields)])
    fitted = fit_payload(payload)
    assert payload_text_length(fitted) == EMBEDS_TOTAL_MAX
    assert fitted.embeds[0].fields == fields
    assert fitted.embeds[0].description is not None and fitted.embeds[0].description.endswith(ELLIPSIS)


def test_an_empty_field_value_becomes_a_zero_width_space_discord_accepts() -> None:
    fitted = fit_payload(WebhookPayload(embeds=[_embed(fields=[EmbedField(name="Notes", value=" ")])]))
    assert fitted.embeds[0].fields[0].value == EMPTY_FIELD_TEXT


def test_report_of_a_fitting_payload_is_within_limits() -> None:
    report = limit_report(WebhookPayload(embeds=[_embed(title="abc")]))
    assert report["within_limits"] is True
    assert report["total"] == {"length": 3, "limit": 6000, "ok": True}
    assert report["violations"] == []


def test_report_names_every_violation() -> None:
    report = limit_report(WebhookPayload(content="c" * 2001, embeds=[_embed(title="t" * 257)]))
    assert report["within_limits"] is False
    assert report["violations"] == ["embeds[0].title: 257 > 256", "content: 2001 > 2000"]


_text = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=1500)
_field = st.builds(EmbedField, name=st.text(max_size=300), value=_text, inline=st.booleans())
_embeds = st.builds(
    Embed,
    title=st.none() | st.text(max_size=300),
    description=st.none() | st.text(max_size=5000),
    fields=st.lists(_field, max_size=28),
    footer=st.none() | st.builds(EmbedFooter, text=st.text(max_size=2100)),
    author=st.none() | st.builds(EmbedAuthor, name=st.text(max_size=300)),
)


_payloads = st.builds(
    WebhookPayload, content=st.none() | st.text(max_size=2100), embeds=st.lists(_embeds, max_size=11)
)


@settings(max_examples=60, deadline=None)
@given(_payloads)
def test_any_payload_once_fitted_is_within_every_limit(payload: WebhookPayload) -> None:
    report = limit_report(fit_payload(payload))
    assert report["violations"] == []
