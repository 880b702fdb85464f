"""Listed expirations as an admin picks them: nearest first, days to expiry, and what kind each is (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.market import calendar

ExpirationKind = Literal["weekly", "monthly", "quarterly"]
_QUARTER_MONTHS = (3, 6, 9, 12)


class Expiration(BaseModel):
    """One expiration: its date, days to it (New York), whether it is today, and its kind."""

    model_config = ConfigDict(defer_build=True)

    date: date
    dte: int
    is_0dte: bool
    kind: ExpirationKind


def monthly_expiration(year: int, month: int) -> date:
    """The standard monthly expiration: the third Friday, or the session before it when that is a holiday."""
    first = date(year, month, 1)
    third_friday = first + timedelta(days=(4 - first.weekday()) % 7 + 14)
    return calendar.session_on_or_before(third_friday)


def quarterly_expiration(year: int, month: int) -> date | None:
    """The quarterly expiration of a quarter's last month: its last session (None in other months)."""
    if month not in _QUARTER_MONTHS:
        return None
    last = (date(year + (month == 12), month % 12 + 1, 1)) - timedelta(days=1)
    return calendar.session_on_or_before(last)


def kind_of(expiry: date) -> ExpirationKind:
    """Monthly (third Friday) before quarterly (a quarter's last session), else weekly."""
    if expiry == monthly_expiration(expiry.year, expiry.month):
        return "monthly"
    if expiry == quarterly_expiration(expiry.year, expiry.month):
        return "quarterly"
    return "weekly"


def listed(expiries: Iterable[date], today: date) -> list[Expiration]:
    """The expirations from `today` on, each once, nearest first."""
    return [
        Expiration(date=expiry, dte=(expiry - today).days, is_0dte=expiry == today, kind=kind_of(expiry))
        for expiry in sorted(set(expiries))
        if expiry >= today
    ]
