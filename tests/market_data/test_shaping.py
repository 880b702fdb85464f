"""What an admin reads when picking a contract, each figure worked out by hand (pure, no I/O)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from shared.market_data.chain import ContractQuote, at_the_money, mid_of, window
from shared.market_data.expirations import listed
from shared.market_data.quotes import change_percent, session_at

FRIDAY = date(2026, 12, 4)


def test_expirations_come_nearest_first_with_their_days_and_kinds() -> None:
    dates = [date(2027, 3, 31), date(2026, 12, 18), FRIDAY, date(2026, 12, 31), date(2027, 1, 15), date(2026, 12, 3)]
    got = [(e.date, e.dte, e.is_0dte, e.kind) for e in listed(dates, FRIDAY)]
    assert got == [
        (FRIDAY, 0, True, "weekly"),  # today: a 0DTE
        (date(2026, 12, 18), 14, False, "monthly"),  # December's third Friday
        (date(2026, 12, 31), 27, False, "quarterly"),  # the quarter's last session (a Thursday)
        (date(2027, 1, 15), 42, False, "monthly"),  # January 2027 starts on a Friday: 1, 8, 15
        (date(2027, 3, 31), 117, False, "quarterly"),  # 27 + 31 + 28 + 31 days
    ]  # yesterday's is gone


def test_a_monthly_whose_third_friday_is_a_holiday_expires_the_thursday_before() -> None:
    # June 2026: Fridays 5, 12, 19; the 19th is Juneteenth, so the monthly is Thursday the 18th.
    got = [(e.date, e.dte, e.kind) for e in listed([date(2026, 6, 18), date(2026, 6, 30)], date(2026, 6, 1))]
    assert got == [(date(2026, 6, 18), 17, "monthly"), (date(2026, 6, 30), 29, "quarterly")]


@pytest.mark.parametrize(
    ("bid", "ask", "midpoint", "mid"),
    [
        (1.05, 1.10, None, 1.075),
        (2.0, 2.0, None, 2.0),
        (1.20, 1.10, 1.15, 1.15),  # crossed: Massive's midpoint, not ours
        (None, 1.10, None, None),  # one-sided and no midpoint: no mid at all
        (0.0, 0.05, 0.03, 0.03),
    ],
)
def test_the_mid_is_the_middle_of_a_two_sided_quote(
    bid: float | None, ask: float | None, midpoint: float | None, mid: float | None
) -> None:
    assert mid_of(bid, ask, midpoint) == mid


def test_the_money_is_the_listed_strike_nearest_spot_the_lower_on_a_tie() -> None:
    strikes = [590.0, 595.0, 600.0, 605.0, 610.0]
    assert at_the_money(strikes, 601.2) == 600.0
    assert at_the_money(strikes, 602.5) == 600.0
    assert at_the_money(strikes, 603.0) == 605.0
    assert at_the_money(strikes, 550.0) == 590.0
    assert at_the_money([], 600.0) is None


def quote(strike: float, kind: str) -> ContractQuote:
    return ContractQuote.model_validate({
        "occ": f"O:SPY261204{kind[0].upper()}{int(strike * 1000):08d}", "underlying": "SPY",
        "expiration": "2026-12-04", "strike": strike, "type": kind, "bid": None, "ask": None, "mid": None,
        "last": None, "volume": None, "open_interest": None, "iv": None, "delta": None, "gamma": None,
        "theta": None, "vega": None, "break_even": None,
    })  # fmt: skip


def test_the_window_is_n_strikes_each_side_of_the_money_calls_before_puts() -> None:
    contracts = [quote(strike, kind) for kind in ("put", "call") for strike in (610.0, 590.0, 600.0, 595.0, 605.0)]
    atm, rows = window(contracts, 601.2, 1)
    assert atm == 600.0
    assert [(r.strike, r.type) for r in rows] == [
        (595.0, "call"), (595.0, "put"), (600.0, "call"), (600.0, "put"), (605.0, "call"), (605.0, "put"),
    ]  # fmt: skip
    _, puts = window(contracts, 601.2, 2, only="put")
    assert [r.strike for r in puts] == [590.0, 595.0, 600.0, 605.0, 610.0]


@pytest.mark.parametrize(
    ("at", "session"),
    [
        (datetime(2026, 12, 4, 8, 59, tzinfo=UTC), "closed"),  # 03:59 New York
        (datetime(2026, 12, 4, 13, 0, tzinfo=UTC), "pre"),  # 08:00
        (datetime(2026, 12, 4, 14, 30, tzinfo=UTC), "regular"),  # 09:30, the open
        (datetime(2026, 12, 4, 21, 0, tzinfo=UTC), "after"),  # 16:00, the close
        (datetime(2026, 12, 5, 1, 0, tzinfo=UTC), "closed"),  # 20:00
        (datetime(2026, 12, 5, 15, 0, tzinfo=UTC), "closed"),  # Saturday
        (datetime(2026, 11, 27, 18, 30, tzinfo=UTC), "after"),  # 13:30 the day after Thanksgiving (closed at 13:00)
        (datetime(2026, 11, 26, 15, 0, tzinfo=UTC), "closed"),  # Thanksgiving
    ],
)
def test_the_session_follows_the_market_calendar(at: datetime, session: str) -> None:
    assert session_at(at) == session


def test_the_change_percent_is_of_the_previous_close() -> None:
    # 601.20 after a −3.30 day: the previous close was 604.50, and −3.30 / 604.50 = −0.5459 %.
    assert change_percent(-3.3, 601.2) == -0.55
    assert change_percent(None, 601.2) is None
