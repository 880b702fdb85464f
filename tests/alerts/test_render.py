"""The rendered embed: titles, colours, badges, fields, description, footer and timestamp."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from shared.alerts.models import AlertBlock, AlertPrices
from shared.alerts.presets import resolve_fields
from shared.alerts.render import confluence_icon, money, percent, render_alert, signed_dollars, strike_text
from shared.discord.limits import limit_report
from shared.trades.ledger import make_fill
from shared.trades.lifecycle import Action, InputError, Step
from shared.trades.models import ActionInputs
from tests.alerts.scenario import ACTION_CASES, NOW, composed, ledger_of, rich_trade

D = Decimal


def _embed(action: Action, *, preset: str | None = None, **kw: Any) -> dict[str, Any]:
    state, inputs = ACTION_CASES[action]
    trade = rich_trade(state, **kw)
    block = AlertBlock.model_validate({"preset": preset}) if preset else None
    embed: dict[str, Any] = composed(trade, action, inputs, block).payload["embeds"][0]
    return embed


def _fields(embed: dict[str, Any]) -> dict[str, str]:
    return {f["name"]: f["value"] for f in embed["fields"]}


@pytest.mark.parametrize(
    ("action", "title", "color"),
    [
        (Action.LOAD, "📊 LOADING: SPY $650 Call · 📅 14DTE", 0x3498DB),
        (Action.ENTER, "🚀 ENTERED: SPY $650 Call · 📅 14DTE", 0x2ECC71),
        (Action.TRIM, "📉 TRIM: SPY $650 Call · 📅 14DTE", 0xE67E22),
        (Action.UPDATE_SL, "🛡️ STOP UPDATED: SPY $650 Call · 📅 14DTE", 0xF39C12),
        (Action.TRAIL_STOP, "🎯 TRAILING STOP: SPY $650 Call · 📅 14DTE", 0xF39C12),
        (Action.EXIT, "🎉 EXITED: SPY $650 Call · 📅 14DTE", 0x27AE60),
    ],
)
def test_title_and_colour_per_action(action: Action, title: str, color: int) -> None:
    embed = _embed(action)
    assert (embed["title"], embed["color"]) == (title, color)


def test_an_exit_at_a_loss_is_red() -> None:
    embed = composed(rich_trade("entered"), Action.EXIT, ActionInputs(price=D("0.50"))).payload["embeds"][0]
    assert embed["title"].startswith("🔴 EXITED: SPY")
    assert embed["color"] == 0xE74C3C


def test_a_winning_position_whose_last_leg_lost_is_posted_as_a_win() -> None:
    # 4 at 1.00, 3 sold at 2.00 (+$300), the last one exited at 0.90 (−$10): +$290 on $400, +72.50 %.
    # Costs: fees 2.60 + 1.95 + 0.65, slippage 2.00 + 3.00 + 0.45 = $10.65; net $279.35.
    trade = rich_trade("entered", entry_price=D("1.00"), current_price=D("2.00"), quantity=4, stop_loss=D("0.50"))
    fills = [make_fill("buy", D(4), D("1.00")), make_fill("sell", D(3), D("2.00"))]
    embed = composed(trade, Action.EXIT, ActionInputs(price=D("0.90")), fills=fills).payload["embeds"][0]
    assert (embed["title"].split(":")[0], embed["color"]) == ("🎉 EXITED", 0x27AE60)
    assert _fields(embed)["P/L"] == "+72.50% (+$290.00) · net +$279.35 after $10.65 costs"


def test_an_exit_where_it_came_in_is_flat_and_grey() -> None:
    embed = composed(rich_trade("entered"), Action.EXIT, ActionInputs(price=D("1.20"))).payload["embeds"][0]
    assert (embed["title"].split(":")[0], embed["color"]) == ("⚪ EXITED FLAT", 0x95A5A6)


@pytest.mark.parametrize(("expiry", "badge"), [(date(2025, 12, 5), "⚠️ 0DTE"), (date(2025, 12, 7), "🔥 2DTE")])
def test_the_title_badge_warns_of_near_expiry(expiry: date, badge: str) -> None:
    assert _embed(Action.ENTER, expiry=expiry, contract=f"O:SPY{expiry:%y%m%d}C00650000")["title"].endswith(badge)


def test_the_footer_names_the_kind_and_the_timestamp_is_iso() -> None:
    embed = _embed(Action.ENTER)
    assert embed["footer"] == {"text": "Honey Drip • Entry"}
    assert embed["timestamp"] == "2025-12-05T15:30:00+00:00"


def test_premiums_show_the_underlying_level_beside_them() -> None:
    fields = _fields(_embed(Action.LOAD))
    assert fields["Target"] == "$2.40 | SPY @ 655.00"
    assert fields["Stop"] == "$0.60 | SPY @ 645.50"


def test_without_the_underlying_toggle_only_premiums_show() -> None:
    fields = _fields(_embed(Action.LOAD, preset="minimal"))
    assert fields["Target"] == "$2.40"


def test_load_shows_rr_with_its_rating_greeks_and_setup() -> None:
    fields = _fields(_embed(Action.LOAD))
    assert fields["R:R"] == "2.00 (good)"
    assert fields["Greeks"] == "Δ 0.45 · Γ 0.021 · Θ -0.15 · Vega 0.1 · IV 22.5%"
    assert fields["Setup"] == "Breakout"
    assert "Entry" not in fields


def test_full_shows_confluence_with_its_colour_and_factors() -> None:
    fields = _fields(_embed(Action.LOAD, preset="full"))
    assert fields["Confluence"] == "🟢 82/100\ntrend, volume: high, gex: 0.7"
    assert fields["Notes"] == "Above VWAP, volume rising"


def test_scalp_leaves_out_greeks_and_confluence() -> None:
    fields = _fields(_embed(Action.LOAD, preset="scalp"))
    assert "Greeks" not in fields and "Confluence" not in fields
    assert "Notes" in fields


def test_a_trim_shows_its_fill_and_the_whole_positions_pnl() -> None:
    # 2 at 1.20; 1 sold at 1.80 (+$60), 1 still open marked at 1.80 (+$60): +$120 on $240.
    fields = _fields(_embed(Action.TRIM))
    assert fields["Trimmed"] == "1 contract at $1.80 · 1 contract open"
    assert fields["P/L"] == "+50.00% (+$120.00)"


def test_an_add_shows_its_fill_and_the_new_average_cost() -> None:
    # 2 at 1.20 and 1 at 0.90: 3 open at an average of 3.30 / 3 = 1.10; marked at 0.90, −$60 on $330.
    fields = _fields(_embed(Action.ADD))
    assert fields["Added"] == "1 contract at $0.90 · 3 contracts open · avg $1.10"
    assert fields["P/L"] == "-18.18% (-$60.00)"


def test_a_trailing_stop_is_labelled_trailing() -> None:
    assert _fields(_embed(Action.TRAIL_STOP))["Stop (trailing)"] == "$1.10 | SPY @ 645.50"


def test_an_exit_after_trims_shows_the_whole_positions_pnl() -> None:
    # 4 at 1.20; 2 trimmed at 1.80 (+$120); 2 exited at 2.40 (+$240): +$360 on $480 = +75.00 %.
    # Fees 2.60 + 1.30 + 1.30; slippage 2.40 + 1.80 + 2.40: $11.80 of costs, net $348.20.
    trade = rich_trade("entered", quantity=4)
    fills = [make_fill("buy", D(4), D("1.20")), make_fill("sell", D(2), D("1.80"))]
    fields = _fields(composed(trade, Action.EXIT, ActionInputs(price=D("2.40")), fills=fills).payload["embeds"][0])
    assert fields["P/L"] == "+75.00% (+$360.00) · net +$348.20 after $11.80 costs"
    assert fields["Sold"] == "2 contracts at $2.40 · position closed"
    assert (fields["Entry"], fields["Exit"]) == ("$1.20", "$2.40")


def test_the_comment_is_the_description() -> None:
    block = AlertBlock(comment="Taking half off into resistance")
    composition = composed(rich_trade("entered"), Action.TRIM, ActionInputs(trim_percent=D(50)), block)
    assert composition.payload["embeds"][0]["description"] == "Taking half off into resistance"


def test_fields_without_a_value_are_left_out() -> None:
    fields = _fields(_embed(Action.LOAD, preset="full", greeks=None, confluence=None, notes=None))
    assert not {"Greeks", "Confluence", "Notes", "Entry", "Exit"} & set(fields)


def test_an_alert_has_no_content_and_pings_nobody() -> None:
    payload = composed(rich_trade("loaded"), Action.ENTER, ActionInputs(price=D("1.25"))).payload
    assert "content" not in payload
    assert payload["allowed_mentions"] == {"parse": []}


def test_an_overlong_alert_is_cut_to_fit_discords_limits() -> None:
    trade = rich_trade("entered", notes="n" * 1024, setup_type="s" * 1024)
    payload = composed(trade, Action.UPDATE, ActionInputs(), AlertBlock(preset="full", comment="x" * 4096)).payload
    assert limit_report(payload)["within_limits"]
    assert payload["embeds"][0]["description"].endswith("…")
    assert _fields(payload["embeds"][0])["Notes"] == "n" * 1024


def test_the_edited_prices_are_what_the_embed_shows() -> None:
    block = AlertBlock(prices=AlertPrices(target=D("3.00"), stop=D("0.80")))
    embed = composed(rich_trade("loaded"), Action.ENTER, ActionInputs(price=D("1.25")), block).payload["embeds"][0]
    fields = _fields(embed)
    assert fields["Target"].startswith("$3.00") and fields["Stop"].startswith("$0.80")


def test_an_edited_entry_is_the_enter_actions_fill_price() -> None:
    block = AlertBlock(prices=AlertPrices(entry=D("1.15")))
    composition = composed(rich_trade("loaded"), Action.ENTER, ActionInputs(), block)
    assert (composition.step.fills[0].price, _fields(composition.payload["embeds"][0])["Entry"]) == (
        D("1.15"), "$1.15",
    )


def test_an_edited_target_on_the_wrong_side_names_the_composer_field() -> None:
    block = AlertBlock(prices=AlertPrices(target=D("1.00")))
    with pytest.raises(InputError) as caught:
        composed(rich_trade("entered"), Action.UPDATE, ActionInputs(), block)
    assert caught.value.field == "alert.prices.target"


def test_render_alone_returns_the_unfitted_payload() -> None:
    trade = rich_trade("entered")
    step = Step(trade=trade, update=None, ledger=tuple(ledger_of(trade)))
    payload = render_alert(step, "update", resolve_fields("update", None, None), None, NOW)
    assert payload.embeds[0].title == "📝 UPDATE: SPY $650 Call · 📅 14DTE"


@pytest.mark.parametrize(
    ("value", "text"), [(D("1.2"), "$1.20"), (D("0.045"), "$0.045"), (D("12"), "$12.00"), (D("1.2000"), "$1.20")]
)
def test_money_format(value: Decimal, text: str) -> None:
    assert money(value) == text


def test_strike_and_percent_formats() -> None:
    assert (strike_text(D(650)), strike_text(D("652.5"))) == ("$650", "$652.50")
    assert (percent(D("25")), percent(D("-3.5"))) == ("+25.00%", "-3.50%")


def test_signed_dollars_carry_a_sign_and_thousands() -> None:
    assert (signed_dollars(D("1600")), signed_dollars(D("-12.5")), signed_dollars(D(0))) == (
        "+$1,600.00", "-$12.50", "$0.00",
    )


def test_an_expired_contract_is_badged_expired_never_0dte() -> None:
    late = NOW.replace(day=19, hour=22)
    trade = rich_trade("entered", expiry=date(2025, 12, 19))
    step = Step(trade=trade, update=None, ledger=tuple(ledger_of(trade)))
    payload = render_alert(step, "exit", resolve_fields("exit", None, None), None, late)
    assert (payload.embeds[0].title or "").endswith("· ⌛ EXPIRED")


@pytest.mark.parametrize(("score", "icon"), [(80, "🟢"), (79, "🟡"), (60, "🟡"), (59, "🔴")])
def test_confluence_colour_by_score(score: int, icon: str) -> None:
    assert confluence_icon(score) == icon
