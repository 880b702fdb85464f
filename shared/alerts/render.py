"""The Discord embed of one trade action, in the predecessor's titles, colours and fields."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Final

from shared.alerts.presets import AlertAction, FieldKey
from shared.discord.payloads import Embed, EmbedField, EmbedFooter, WebhookPayload
from shared.trades import pnl
from shared.trades.dte import days_to_expiry, dte_badge
from shared.trades.models import Confluence, Greeks, Trade, UpdateDraft

BLUE: Final = 0x3498DB
GREEN: Final = 0x2ECC71
ORANGE: Final = 0xE67E22
AMBER: Final = 0xF39C12
PROFIT_GREEN: Final = 0x27AE60
LOSS_RED: Final = 0xE74C3C
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
_LOSS_TITLE: Final = "🔴 EXITED"
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


def is_loss(trade: Trade, update: UpdateDraft | None) -> bool:
    """Whether an exit lost money (its P&L is below zero)."""
    move = update.pnl_percent if update is not None else None
    return move is not None and move < 0


def _pnl_text(trade: Trade, action: AlertAction, update: UpdateDraft | None) -> str | None:
    move = update.pnl_percent if update is not None else None
    if move is None or action in ("load", "enter"):
        return None
    text = percent(move)
    if action in ("exit", "share_exit") and trade.trimmed_percent > 0:
        remaining = pnl.HUNDRED - trade.trimmed_percent
        whole = trade.realized_percent + remaining * move / pnl.HUNDRED
        text += f" (whole position {percent(whole)} after trims)"
    return text


def _fields(
    trade: Trade, action: AlertAction, update: UpdateDraft | None, shown: dict[FieldKey, bool]
) -> list[EmbedField]:
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
    if action == "trim" and update is not None and update.trim_percent is not None:
        remaining = pnl.HUNDRED - trade.trimmed_percent
        at = f" at {money(update.price)}" if update.price is not None else ""
        add(None, "Trimmed", f"{update.trim_percent.normalize():f}%{at} · {remaining.normalize():f}% remains")
    if action == "add" and update is not None and update.price is not None:
        size = f"+{update.quantity} contract{'s' if update.quantity != 1 else ''} " if update.quantity else ""
        add(None, "Added", f"{size}at {money(update.price)}")
    add("pnl", "P/L", _pnl_text(trade, action, update))
    reference = trade.entry_price or trade.current_price
    if reference is not None and trade.target_price is not None and trade.stop_loss is not None:
        ratio = pnl.risk_reward(reference, trade.target_price, trade.stop_loss)
        if ratio is not None:
            add("risk_reward", "R:R", f"{ratio} ({pnl.risk_reward_rating(ratio)})")
    add("greeks", "Greeks", _greeks_text(trade.greeks) if trade.greeks else None, inline=False)
    add("setup", "Setup", trade.setup_type)
    add("confluence", "Confluence", _confluence_text(trade.confluence) if trade.confluence else None, inline=False)
    add("notes", "Notes", trade.notes, inline=False)
    return fields


def render_alert(
    trade: Trade,
    action: AlertAction,
    update: UpdateDraft | None,
    shown: dict[FieldKey, bool],
    comment: str | None,
    now: datetime,
) -> WebhookPayload:
    """The webhook body announcing `action` on `trade` (not yet fitted to Discord's limits)."""
    prefix, color, kind = _STYLE[action]
    if action in ("exit", "share_exit") and is_loss(trade, update):
        prefix, color = _LOSS_TITLE, LOSS_RED
    title = f"{prefix}: {trade.ticker} {contract_label(trade)}"
    if shown.get("dte", False):
        title += f" · {dte_badge(max(days_to_expiry(trade.expiry, now), 0))}"
    embed = Embed(
        title=title,
        description=comment if comment and comment.strip() else None,
        color=color,
        fields=_fields(trade, action, update, shown),
        footer=EmbedFooter(text=f"{FOOTER_BRAND} • {kind}"),
        timestamp=now.astimezone(UTC).isoformat(timespec="seconds"),
    )
    return WebhookPayload(embeds=[embed])
