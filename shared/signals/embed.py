"""A signal as a Discord embed: detector, direction, style, entry, stop, targets, R:R and every factor."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from shared.discord.limits import fit_payload
from shared.discord.payloads import Embed, EmbedField, EmbedFooter, WebhookPayload
from shared.signals.confluence import Signal

LONG_COLOR = 0x2ECC71
SHORT_COLOR = 0xE74C3C


def _price(value: float) -> str:
    return f"{value:,.2f}" if abs(value) >= 1 else f"{value:.4f}"


def _detector_name(detector: str) -> str:
    return detector.replace("_", " ").title()


def signal_payload(signal: Signal, bar_time: datetime) -> dict[str, Any]:
    """The webhook body of `signal`'s alert, fitted to Discord's limits, as JSON-ready data."""
    c = signal.candidate
    arrow = "▲ LONG" if c.direction == "long" else "▼ SHORT"
    factor_lines = "\n".join(f"• {f.label}: **{f.value:.0f}** (×{f.weight:g})" for f in signal.factors)
    embed = Embed(
        title=f"{signal.symbol} {arrow} · {_detector_name(c.detector)}",
        description=f"Signal score **{signal.score:.0f}**/100 · {c.style} · ATR {_price(signal.atr)}",
        color=LONG_COLOR if c.direction == "long" else SHORT_COLOR,
        fields=[
            EmbedField(name="Entry", value=_price(c.entry), inline=True),
            EmbedField(name="Stop", value=_price(signal.stop), inline=True),
            EmbedField(name="Targets", value=" / ".join(_price(t) for t in signal.targets), inline=True),
            EmbedField(name="R:R", value=f"{signal.rr:.2f}", inline=True),
            EmbedField(name="Style", value=c.style, inline=True),
            EmbedField(name="Factors", value=factor_lines or "none", inline=False),
        ],
        footer=EmbedFooter(text="Honey Drip scanner · not advice"),
        timestamp=bar_time.astimezone(UTC).isoformat(),
    )
    return fit_payload(WebhookPayload(embeds=[embed])).model_dump(exclude_none=True)
