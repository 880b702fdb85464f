"""A quote as the web client shows it: last price or index value, the day's change, the session (pure)."""

from __future__ import annotations

from datetime import datetime, time
from typing import Literal

from pydantic import BaseModel, ConfigDict

from shared.market import calendar

Session = Literal["pre", "regular", "after", "closed"]
# Extended hours as the exchanges run them, New York time.
PRE_MARKET_OPENS = time(4, 0)
AFTER_HOURS_CLOSE = time(20, 0)


class Quote(BaseModel):
    """One symbol's last price (or index value) and its change since the previous close."""

    model_config = ConfigDict(defer_build=True)

    symbol: str
    price: float
    change: float | None
    change_percent: float | None
    session: Session
    as_of: datetime | None


def session_at(at: datetime) -> Session:
    """Which session `at` falls in: pre (04:00 to the open), regular, after (the close to 20:00), or closed."""
    local = at.astimezone(calendar.NEW_YORK)
    bounds = calendar.session_bounds(local.date())
    if bounds is None:
        return "closed"
    opens, closes = bounds
    if opens <= local < closes:
        return "regular"
    if local.time() >= PRE_MARKET_OPENS and local < opens:
        return "pre"
    if closes <= local and local.time() < AFTER_HOURS_CLOSE:
        return "after"
    return "closed"


def change_percent(change: float | None, price: float) -> float | None:
    """The change as a percent of the previous close (price − change), to a hundredth of a percent."""
    if change is None:
        return None
    previous = price - change
    if previous <= 0:
        return None
    return round(100 * change / previous, 2)
