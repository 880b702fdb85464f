"""The Discord embed of one trade action, in the predecessor's titles, colours and fields."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from shared.alerts.presets import AlertAction, FieldKey
from shared.discord.payloads import Embed, EmbedField, EmbedFooter, WebhookPayload
from shared.trades import pnl
from shared.trades.dte import dte_badge, live_dte
from shared.trades.ledger import Fill, PositionPnl
from shared.trades.lifecycle import Step, trade_risk_reward
from shared.trades.models import Confluence, Greeks, Trade

BLUE: Final = 0x3498DB
GREEN: Final = 0x2ECC71
ORANGE: Final = 0xE67E22
AMBER: Final = 0xF39C12
PROFIT_GREEN: Final = 0x27AE60
LOSS_RED: Final = 0xE74C3C
FLAT_GREY: Final = 0x95A5A6
TEAL: Final = 0x1ABC9C
PURPLE: Final = 0x9B59B6

# action → (title prefix, colour, footer kind); exits pick their colour from the P&L.
_STYLE: Final[dict[AlertAction, tuple[str, int, str]]] = {
    "load": ("📊 LOADING", BLUE, "Trade Load"),
    "enter": ("🚀 ENTERED", GREEN, "Entry"),
    "trim": ("📉 TRIM", ORANGE, "Trim"),
    "add": ("➕ ADDED", TEAL, "Add"),
    "update_sl": ("🛡️ STOP UPDATED", AMBER, "Stop Update"),
    "trail_stop": ("🎯 TRAILING STOP", AMBER, "Trailing Stop"),
    "update": ("📝 UPDATE", PURPLE, "Update"),
    "exit": ("🎉 EXITED", PROFIT_GREEN, "Exit"),
    "share_exit": ("🎉 EXITED", PROFIT_GREEN, "Exit Recap"),
}
# An exit's title and colour follow the whole position's result, not its last leg.
_EXIT_BY_RESULT: Final = {"loss": ("🔴 EXITED", LOSS_RED), "flat": ("⚪ EXITED FLAT", FLAT_GREY)}
FOOTER_BRAND: Final = "Honey Drip"


def money(value: Decimal) -> str:
    """`$1.20`; cents always shown, sub-cent digits only when present."""
    text = f"{value:.2f}" if value == value.quantize(Decimal("0.01")) else f"{value.normalize():f}"
    return f"${text}"


def strike_text(strike: Decimal) -> str:
    """`$650` for a whole strike, `$652.50` otherwise."""
    return f"${strike:.0f}" if strike == strike.to_integral_value() else money(strike)


def percent(value: Decimal) -> str:
    """`+25.00%` / `-12.50%`."""
    return f"{value:+.2f}%"


def signed_dollars(value: Decimal) -> str:
    """`+$1,600.00` / `-$12.50` / `$0.00`."""
    sign = "+" if value > 0 else "-" if value < 0 else ""
    return f"{sign}${abs(value):,.2f}"


def contracts_text(contracts: Decimal) -> str:
    """`5 contracts`, `1 contract`, `0.5 contracts`."""
    number = f"{contracts.normalize():f}"
    return f"{number} contract{'' if contracts == 1 else 's'}"


def contract_label(trade: Trade) -> str:
    """`$650 Call`."""
    return f"{strike_text(trade.strike)} {trade.side.capitalize()}"


def confluence_icon(score: int) -> str:
    """🟢 from 80, 🟡 from 60, 🔴 below."""
    return "🟢" if score >= 80 else "🟡" if score >= 60 else "🔴"


def _greeks_text(greeks: Greeks) -> str | None:
    parts = []
    for symbol, value in (("Δ", greeks.delta), ("Γ", greeks.gamma), ("Θ", greeks.theta), ("Vega", greeks.vega)):
        if value is not None:
            parts.append(f"{symbol} {value:.3f}".rstrip("0").rstrip("."))
    if greeks.iv is not None:
        parts.append(f"IV {greeks.iv * 100:.1f}%")
    return " · ".join(parts) or None


def _confluence_text(confluence: Confluence) -> str:
    head = f"{confluence_icon(confluence.score)} {confluence.score}/100"
    if not confluence.factors:
        return head
    named = confluence.factors.items()
    factors = ", ".join(name if value is True else f"{name}: {value}" for name, value in named if value is not False)
    return f"{head}\n{factors}" if factors else head


def _with_level(premium: Decimal, level: Decimal | None, ticker: str, show_level: bool) -> str:
    if show_level and level is not None:
        return f"{money(premium)} | {ticker} @ {level:.2f}"
    return money(premium)


def _pnl_text(action: AlertAction, figures: PositionPnl | None) -> str | None:
    if figures is None or figures.gross is None or figures.position_percent is None or action in ("load", "enter"):
        return None
    text = f"{percent(figures.position_percent)} ({signed_dollars(figures.gross)})"
    if action in ("exit", "share_exit") and figures.net is not None:
        text += f" · net {signed_dollars(figures.net)} after {money(figures.fees + figures.slippage)} costs"
    return text


def _fill_text(action: AlertAction, fill: Fill, figures: PositionPnl) -> tuple[str, str]:
    """The field announcing the action's fill: its name and value."""
    left = f"{contracts_text(figures.open_quantity)} open" if figures.open_quantity > 0 else "position closed"
    if action == "trim":
        return "Trimmed", f"{contracts_text(fill.contracts)} at {money(fill.price)} · {left}"
    if action == "add":
        average = f" · avg {money(figures.average_cost)}" if figures.average_cost is not None else ""
        return "Added", f"{contracts_text(fill.contracts)} at {money(fill.price)} · {left}{average}"
    return "Sold", f"{contracts_text(fill.contracts)} at {money(fill.price)} · {left}"


def _fields(step: Step, action: AlertAction, shown: dict[FieldKey, bool]) -> list[EmbedField]:
    trade = step.trade
    figures = step.pnl() if step.ledger else None
    fields: list[EmbedField] = []
    levels = shown.get("underlying", False)

    def add(key: FieldKey | None, name: str, value: str | None, *, inline: bool = True) -> None:
        if value is not None and value.strip() and (key is None or shown.get(key, False)):
            fields.append(EmbedField(name=name, value=value, inline=inline))

    add("expiry", "Expiry", f"{trade.expiry:%b} {trade.expiry.day}, {trade.expiry.year}")
    add("trade_type", "Type", trade.trade_type)
    add("entry", "Entry", money(trade.entry_price) if trade.entry_price is not None else None)
    add("current", "Current", money(trade.current_price) if trade.current_price is not None else None)
    if trade.target_price is not None:
        add("target", "Target", _with_level(trade.target_price, trade.target_underlying, trade.ticker, levels))
    elif levels and trade.target_underlying is not None:
        add("target", "Target", f"{trade.ticker} @ {trade.target_underlying:.2f}")
    stop_name = "Stop (trailing)" if trade.stop_mode == "trailing" else "Stop"
    if trade.stop_loss is not None:
        add("stop", stop_name, _with_level(trade.stop_loss, trade.stop_underlying, trade.ticker, levels))
    elif levels and trade.stop_underlying is not None:
        add("stop", stop_name, f"{trade.ticker} @ {trade.stop_underlying:.2f}")
    add("exit", "Exit", money(trade.exit_price) if trade.exit_price is not None else None)
    if action in ("trim", "add", "exit") and step.fills and figures is not None:
        add(None, *_fill_text(action, step.fills[0], figures))
    add("pnl", "P/L", _pnl_text(action, figures))
    ratio = trade_risk_reward(trade)
    if ratio is not None:
        add("risk_reward", "R:R", f"{ratio} ({pnl.risk_reward_rating(ratio)})")
    add("greeks", "Greeks", _greeks_text(trade.greeks) if trade.greeks else None, inline=False)
    add("setup", "Setup", trade.setup_type)
    add("confluence", "Confluence", _confluence_text(trade.confluence) if trade.confluence else None, inline=False)
    add("notes", "Notes", trade.notes, inline=False)
    return fields


def render_alert(
    step: Step,
    action: AlertAction,
    shown: dict[FieldKey, bool],
    comment: str | None,
    now: datetime,
) -> WebhookPayload:
    """The webhook body announcing `action`'s step (not yet fitted to Discord's limits)."""
    trade = step.trade
    prefix, color, kind = _STYLE[action]
    if action in ("exit", "share_exit") and step.ledger:
        result = step.pnl().result
        if result in _EXIT_BY_RESULT:
            prefix, color = _EXIT_BY_RESULT[result]
    title = f"{prefix}: {trade.ticker} {contract_label(trade)}"
    if shown.get("dte", False):
        title += f" · {dte_badge(live_dte(trade.expiry, now))}"
    embed = Embed(
        title=title,
        description=comment if comment and comment.strip() else None,
        color=color,
        fields=_fields(step, action, shown),
        footer=EmbedFooter(text=f"{FOOTER_BRAND} • {kind}"),
        timestamp=now.astimezone(UTC).isoformat(timespec="seconds"),
    )
    return WebhookPayload(embeds=[embed])
