"""Days to expiry, counted in New York calendar days, and the rules that hang off it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Literal
from zoneinfo import ZoneInfo

from shared.market.calendar import expiration_cutoff
from shared.trades.money import cents

NEW_YORK = ZoneInfo("America/New_York")

TradeType = Literal["Scalp", "Day", "Swing", "LEAP"]
TRADE_TYPES: tuple[TradeType, ...] = ("Scalp", "Day", "Swing", "LEAP")


def market_date(now: datetime) -> date:
    """The calendar date in New York at `now` (an aware datetime)."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return now.astimezone(NEW_YORK).date()


def days_to_expiry(expiry: date, now: datetime) -> int:
    """Calendar days from New York's today to `expiry`; 0 on expiry day, negative once expired."""
    return (expiry - market_date(now)).days


def trading_ends(expiry: date) -> datetime:
    """The moment a contract expiring on `expiry` stops trading: 16:00 New York time, 13:00 on an early close."""
    return expiration_cutoff(expiry).astimezone(NEW_YORK)


def is_expired(expiry: date, now: datetime) -> bool:
    """Whether the contract no longer trades at `now` (from its expiration date's close on)."""
    return now >= trading_ends(expiry)


def live_dte(expiry: date, now: datetime) -> int | None:
    """Days to expiry while the contract trades; None once it has expired."""
    return None if is_expired(expiry, now) else days_to_expiry(expiry, now)


def trade_type_for(dte: int) -> TradeType:
    """0-2 DTE Scalp, 3-14 Day, 15-60 Swing, over 60 LEAP (an expired contract counts as Scalp)."""
    if dte <= 2:
        return "Scalp"
    if dte <= 14:
        return "Day"
    if dte <= 60:
        return "Swing"
    return "LEAP"


def dte_badge(dte: int | None) -> str:
    """The title badge: `⌛ EXPIRED` once expired, `⚠️ 0DTE` on expiry day, `🔥 nDTE` up to 2, else `📅 nDTE`."""
    if dte is None:
        return "⌛ EXPIRED"
    if dte <= 0:
        return "⚠️ 0DTE"
    if dte <= 2:
        return f"🔥 {dte}DTE"
    return f"📅 {dte}DTE"


def default_levels(premium: Decimal, dte: int) -> tuple[Decimal, Decimal]:
    """Default (target, stop) premiums from `premium`: ≤1 DTE ×1.3/×0.7, ≤7 ×1.5/×0.5, else ×2/×0.3."""
    if dte <= 1:
        target, stop = Decimal("1.3"), Decimal("0.7")
    elif dte <= 7:
        target, stop = Decimal("1.5"), Decimal("0.5")
    else:
        target, stop = Decimal("2.0"), Decimal("0.3")
    cent = Decimal("0.01")
    # A premium is never 0 in the database; the smallest tick stands in for a tiny stop.
    return max(cents(premium * target), cent), max(cents(premium * stop), cent)


def utc_now() -> datetime:
    """The current time, timezone-aware (UTC)."""
    return datetime.now(UTC)
