"""Days to expiry in New York calendar days, the trade type, the badge and default levels."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from shared.trades.dte import (
    days_to_expiry,
    default_levels,
    dte_badge,
    is_expired,
    live_dte,
    market_date,
    trade_type_for,
)


def test_late_evening_utc_is_still_the_same_day_in_new_york() -> None:
    # 02:30 UTC on the 20th is 21:30 on the 19th in New York (EST).
    assert market_date(datetime(2025, 12, 20, 2, 30, tzinfo=UTC)) == date(2025, 12, 19)


def test_expiry_day_is_zero_dte_until_midnight_in_new_york() -> None:
    assert days_to_expiry(date(2025, 12, 19), datetime(2025, 12, 20, 4, 59, tzinfo=UTC)) == 0
    assert days_to_expiry(date(2025, 12, 19), datetime(2025, 12, 20, 5, 0, tzinfo=UTC)) == -1


def test_dte_follows_daylight_saving_time() -> None:
    # In July New York is UTC-4: 03:59 UTC on the 2nd is still the 1st.
    assert days_to_expiry(date(2025, 7, 2), datetime(2025, 7, 2, 3, 59, tzinfo=UTC)) == 1
    assert days_to_expiry(date(2025, 7, 2), datetime(2025, 7, 2, 4, 0, tzinfo=UTC)) == 0


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        market_date(datetime(2025, 1, 1))


@pytest.mark.parametrize(
    ("dte", "expected"),
    [(-1, "Scalp"), (0, "Scalp"), (2, "Scalp"), (3, "Day"), (14, "Day"), (15, "Swing"), (60, "Swing"),
     (61, "LEAP"), (400, "LEAP")],
)
def test_trade_type_by_days_to_expiry(dte: int, expected: str) -> None:
    assert trade_type_for(dte) == expected


@pytest.mark.parametrize(
    ("dte", "badge"),
    [(None, "⌛ EXPIRED"), (0, "⚠️ 0DTE"), (1, "🔥 1DTE"), (2, "🔥 2DTE"), (3, "📅 3DTE"), (45, "📅 45DTE")],
)
def test_title_badge_by_days_to_expiry(dte: int | None, badge: str) -> None:
    assert dte_badge(dte) == badge


@pytest.mark.parametrize(
    ("dte", "target", "stop"),
    [(0, "1.30", "0.70"), (1, "1.30", "0.70"), (2, "1.50", "0.50"), (7, "1.50", "0.50"), (8, "2.00", "0.30")],
)
def test_default_target_and_stop_are_multiples_of_the_premium(dte: int, target: str, stop: str) -> None:
    assert default_levels(Decimal("1.00"), dte) == (Decimal(target), Decimal(stop))


def test_a_default_stop_is_never_zero() -> None:
    assert default_levels(Decimal("0.01"), 30) == (Decimal("0.02"), Decimal("0.01"))


# 16:00 New York on each expiration date, in UTC, on both sides of both 2026 daylight-saving switches
# (8 March: EST → EDT; 1 November: EDT → EST).
@pytest.mark.parametrize(
    ("expiry", "last_minute", "close"),
    [
        (date(2026, 3, 6), datetime(2026, 3, 6, 20, 59, tzinfo=UTC), datetime(2026, 3, 6, 21, 0, tzinfo=UTC)),
        (date(2026, 3, 9), datetime(2026, 3, 9, 19, 59, tzinfo=UTC), datetime(2026, 3, 9, 20, 0, tzinfo=UTC)),
        (date(2026, 10, 30), datetime(2026, 10, 30, 19, 59, tzinfo=UTC), datetime(2026, 10, 30, 20, 0, tzinfo=UTC)),
        (date(2026, 11, 2), datetime(2026, 11, 2, 20, 59, tzinfo=UTC), datetime(2026, 11, 2, 21, 0, tzinfo=UTC)),
    ],
)
def test_a_contract_trades_until_16_00_new_york_on_its_expiration_date(
    expiry: date, last_minute: datetime, close: datetime
) -> None:
    assert (is_expired(expiry, last_minute), live_dte(expiry, last_minute)) == (False, 0)
    assert (is_expired(expiry, close), live_dte(expiry, close)) == (True, None)


def test_an_expired_contract_has_no_dte_never_0dte() -> None:
    evening = datetime(2025, 12, 19, 23, 0, tzinfo=UTC)
    assert live_dte(date(2025, 12, 19), evening) is None
    assert dte_badge(live_dte(date(2025, 12, 19), evening)) == "⌛ EXPIRED"


def test_on_an_early_close_the_contract_stops_trading_at_13_00() -> None:
    # 24 December 2025 closes at 13:00 New York (18:00 UTC).
    assert not is_expired(date(2025, 12, 24), datetime(2025, 12, 24, 17, 59, tzinfo=UTC))
    assert is_expired(date(2025, 12, 24), datetime(2025, 12, 24, 18, 0, tzinfo=UTC))
