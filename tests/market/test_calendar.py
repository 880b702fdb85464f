"""The market calendar: sessions, holidays, early closes, DST, and expiry cutoffs, in New York time."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime, timedelta

import pytest

from shared.market import calendar, xnys_table
from shared.market.xnys_generate import library_schedule, render


def utc(year: int, month: int, day: int, hour: int, minute: int) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def test_the_table_equals_the_library_for_every_day_of_the_covered_years() -> None:
    library = library_schedule(xnys_table.FIRST_YEAR, xnys_table.LAST_YEAR)
    day = date(xnys_table.FIRST_YEAR, 1, 1)
    mismatches = []
    while day.year <= xnys_table.LAST_YEAR:
        ours = calendar.session_hours_local(day)
        theirs = library.get(day)
        as_text = None if ours is None else (f"{ours[0]:%H:%M}", f"{ours[1]:%H:%M}")
        if as_text != theirs:
            mismatches.append((day, as_text, theirs))
        day += timedelta(days=1)
    assert mismatches == []


def test_the_generated_file_is_what_the_generator_writes_now() -> None:
    from pathlib import Path

    table = Path(xnys_table.__file__).read_text(encoding="utf-8")
    assert table == render(xnys_table.FIRST_YEAR, xnys_table.LAST_YEAR)


def test_importing_the_calendar_does_not_import_pandas() -> None:
    code = (
        "import sys, datetime; from shared.market.calendar import expiration_cutoff, is_open;"
        " expiration_cutoff(datetime.date(2026, 12, 18)); print('pandas' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=30)
    assert result.stdout.strip() == "False"


def test_a_holiday_is_no_session_and_never_open() -> None:
    thanksgiving = date(2026, 11, 26)
    assert not calendar.is_session(thanksgiving)
    assert not calendar.is_open(utc(2026, 11, 26, 16, 0))  # 11:00 New York
    assert calendar.previous_session(date(2026, 11, 27)) == date(2026, 11, 25)
    assert calendar.next_session(date(2026, 11, 25)) == date(2026, 11, 27)


def test_good_friday_is_a_holiday() -> None:
    assert not calendar.is_session(date(2026, 4, 3))


def test_an_early_close_ends_at_13_00_new_york() -> None:
    day_after_thanksgiving = date(2026, 11, 27)
    assert calendar.is_early_close(day_after_thanksgiving)
    assert not calendar.is_early_close(date(2026, 11, 25))
    assert calendar.is_open(utc(2026, 11, 27, 17, 59))  # 12:59 EST
    assert not calendar.is_open(utc(2026, 11, 27, 18, 0))  # 13:00 EST


def test_the_expiration_cutoff_is_16_00_new_york_on_a_regular_day() -> None:
    cutoff = calendar.expiration_cutoff(date(2026, 12, 18))
    assert cutoff.tzinfo is not None
    assert cutoff == utc(2026, 12, 18, 21, 0)
    assert (cutoff.hour, cutoff.minute) == (16, 0)


def test_the_expiration_cutoff_is_13_00_on_an_early_close() -> None:
    assert calendar.expiration_cutoff(date(2026, 12, 24)) == utc(2026, 12, 24, 18, 0)


def test_the_expiration_cutoff_in_summer_time_is_20_00_utc() -> None:
    assert calendar.expiration_cutoff(date(2026, 7, 17)) == utc(2026, 7, 17, 20, 0)


def test_an_expiration_on_a_closed_day_stops_at_the_previous_session_close() -> None:
    # Good Friday 2026: the weekly expiration trades last on Thursday.
    assert calendar.expiration_cutoff(date(2026, 4, 3)) == utc(2026, 4, 2, 20, 0)
    # A Saturday expiration: the Friday close.
    assert calendar.expiration_cutoff(date(2026, 12, 19)) == utc(2026, 12, 18, 21, 0)


def test_the_spring_dst_switch_moves_the_open_an_hour_earlier_in_utc() -> None:
    # Clocks go forward on Sunday 2026-03-08: 09:30 is 14:30 UTC on Friday, 13:30 UTC on Monday.
    assert calendar.is_open(utc(2026, 3, 6, 14, 30))
    assert not calendar.is_open(utc(2026, 3, 6, 14, 29))
    assert calendar.is_open(utc(2026, 3, 9, 13, 30))
    assert not calendar.is_open(utc(2026, 3, 9, 13, 29))
    assert not calendar.is_open(utc(2026, 3, 9, 20, 0))  # 16:00 EDT


def test_the_autumn_dst_switch_moves_the_close_an_hour_later_in_utc() -> None:
    # Clocks go back on Sunday 2026-11-01: 16:00 is 20:00 UTC on Friday, 21:00 UTC on Monday.
    assert not calendar.is_open(utc(2026, 10, 30, 20, 0))
    assert calendar.is_open(utc(2026, 11, 2, 20, 30))
    assert not calendar.is_open(utc(2026, 11, 2, 21, 0))


def test_a_weekend_is_closed_and_sessions_skip_it() -> None:
    assert not calendar.is_session(date(2026, 11, 28))
    assert not calendar.is_open(utc(2026, 11, 28, 16, 0))
    assert calendar.next_session(date(2026, 11, 27)) == date(2026, 11, 30)
    assert calendar.previous_session(date(2026, 11, 30)) == date(2026, 11, 27)


def test_a_naive_datetime_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        calendar.is_open(datetime(2026, 11, 30, 15, 0))


def test_recent_sessions_lists_the_last_five_oldest_first() -> None:
    assert calendar.recent_sessions(5, through=date(2026, 11, 29)) == [
        date(2026, 11, 20),
        date(2026, 11, 23),
        date(2026, 11, 24),
        date(2026, 11, 25),
        date(2026, 11, 27),
    ]


def test_a_year_outside_the_table_falls_back_to_the_library() -> None:
    assert not calendar.is_session(date(2019, 12, 25))
    assert calendar.is_early_close(date(2019, 12, 24))
