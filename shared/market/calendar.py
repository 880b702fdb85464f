"""When the US options market is open: sessions, early closes, expiry cutoffs (NYSE calendar).

Cheap to import: it reads `xnys_table.py`, generated from exchange-calendars (XNYS), so request
handlers never import pandas. Dates outside the table's years fall back to the library when it
is installed (jobs, tests) and raise CalendarRangeError otherwise.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

from shared.market import xnys_table

NEW_YORK = ZoneInfo("America/New_York")
REGULAR_OPEN = time(9, 30)
REGULAR_CLOSE = time(16, 0)
# Long enough to cross any run of holidays and a weekend.
_MAX_GAP_DAYS = 10

_CLOSED = frozenset(date.fromisoformat(d) for d in xnys_table.CLOSED_WEEKDAYS)
_SPECIAL = {
    date.fromisoformat(d): (time.fromisoformat(o), time.fromisoformat(c))
    for d, (o, c) in xnys_table.SPECIAL_HOURS.items()
}


class CalendarRangeError(LookupError):
    """A date outside the years the session table covers, with exchange-calendars not installed."""


@cache
def _library_hours(year: int) -> dict[date, tuple[time, time]]:
    from shared.market.xnys_generate import library_schedule

    try:
        schedule = library_schedule(year, year)
    except ImportError:
        raise CalendarRangeError(
            f"{year} is outside the market calendar's years ({xnys_table.FIRST_YEAR}-{xnys_table.LAST_YEAR});"
            " regenerate it with `python -m shared.market.xnys_generate`"
        ) from None
    return {d: (time.fromisoformat(o), time.fromisoformat(c)) for d, (o, c) in schedule.items()}


def session_hours_local(day: date) -> tuple[time, time] | None:
    """(open, close) in New York time of `day`'s session, or None when the market is closed all day."""
    if not xnys_table.FIRST_YEAR <= day.year <= xnys_table.LAST_YEAR:
        return _library_hours(day.year).get(day)
    if day.weekday() >= 5 or day in _CLOSED:
        return None
    return _SPECIAL.get(day, (REGULAR_OPEN, REGULAR_CLOSE))


def is_session(day: date) -> bool:
    """True when the market trades on `day` (a weekday that is no holiday)."""
    return session_hours_local(day) is not None


def session_bounds(day: date) -> tuple[datetime, datetime] | None:
    """The aware (open, close) datetimes of `day`'s session in New York time, or None on a closed day."""
    hours = session_hours_local(day)
    if hours is None:
        return None
    return datetime.combine(day, hours[0], NEW_YORK), datetime.combine(day, hours[1], NEW_YORK)


def is_early_close(day: date) -> bool:
    """True when `day` is a session that closes before 16:00 New York time."""
    hours = session_hours_local(day)
    return hours is not None and hours[1] < REGULAR_CLOSE


def _aware(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("a timezone-aware datetime is required")
    return at.astimezone(NEW_YORK)


def is_open(at: datetime) -> bool:
    """True when the regular session is trading at the aware instant `at` (open inclusive, close exclusive)."""
    local = _aware(at)
    bounds = session_bounds(local.date())
    return bounds is not None and bounds[0] <= local < bounds[1]


def previous_session(day: date) -> date:
    """The last session strictly before `day`."""
    for back in range(1, _MAX_GAP_DAYS + 1):
        candidate = day - timedelta(days=back)
        if is_session(candidate):
            return candidate
    raise CalendarRangeError(f"no session in the {_MAX_GAP_DAYS} days before {day}")


def next_session(day: date) -> date:
    """The first session strictly after `day`."""
    for ahead in range(1, _MAX_GAP_DAYS + 1):
        candidate = day + timedelta(days=ahead)
        if is_session(candidate):
            return candidate
    raise CalendarRangeError(f"no session in the {_MAX_GAP_DAYS} days after {day}")


def session_on_or_before(day: date) -> date:
    """`day` when it is a session, else the session before it."""
    return day if is_session(day) else previous_session(day)


def recent_sessions(count: int, *, through: date) -> list[date]:
    """The last `count` sessions up to and including `through`, oldest first."""
    days = [session_on_or_before(through)]
    while len(days) < count:
        days.append(previous_session(days[-1]))
    return days[::-1]


def expiration_cutoff(expiration: date) -> datetime:
    """When a contract expiring on `expiration` stops trading: the close of its last session.

    16:00 New York time, 13:00 on an early-close day; an expiration on a day the market is
    closed (a holiday, a Saturday) stops trading at the close of the session before it.
    """
    bounds = session_bounds(session_on_or_before(expiration))
    assert bounds is not None
    return bounds[1]


def last_close_before(at: datetime) -> datetime:
    """The close of the latest session that closed at or before the aware instant `at`."""
    local = _aware(at)
    bounds = session_bounds(local.date())
    if bounds is not None and bounds[1] <= local:
        return bounds[1]
    previous = session_bounds(previous_session(local.date()))
    assert previous is not None
    return previous[1]
