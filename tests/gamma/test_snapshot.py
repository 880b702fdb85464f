"""Massive's chain snapshot shaped into the maths' arrays, and a snapshot's rows, figures worked by hand."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pytest

from shared.gamma.exposure import YEAR_SECONDS, bs_gamma
from shared.gamma.job import symbols_to_snapshot
from shared.gamma.snapshot import build_chain, snapshot
from shared.gamma.store import bucket_of
from shared.massive.models import OptionSnapshot
from tests.fakes.massive_rest import option_contract

# Tuesday 2025-11-25, 15:00 UTC = 10:00 New York; the 2025-11-28 expiration is an early close (13:00).
NOW = datetime(2025, 11, 25, 15, 0, tzinfo=UTC)
TODAY = date(2025, 11, 25)


def parsed(contracts: list[dict[str, Any]]) -> list[OptionSnapshot]:
    return [OptionSnapshot.model_validate(c) for c in contracts]


def contract(kind: str, strike: float, gamma: float | None, oi: float | None, *, days: int = 30,
             iv: float | None = None, spot: float = 100.0, volume: float = 0.0) -> dict[str, Any]:
    return option_contract("SPY", TODAY + timedelta(days=days), kind, strike, spot=spot, iv=iv, gamma=gamma,
                           open_interest=oi, volume=volume)


def test_the_arrays_carry_nan_where_massive_gave_no_greeks_or_open_interest() -> None:
    arrays = build_chain(parsed([contract("call", 100, 0.05, 1000), contract("put", 95, None, None)]), NOW)
    chain = arrays.chain
    assert chain.strike.tolist() == [100.0, 95.0] and chain.is_call.tolist() == [True, False]
    assert chain.gamma[0] == 0.05 and math.isnan(chain.gamma[1])
    assert chain.open_interest[0] == 1000 and math.isnan(chain.open_interest[1])
    assert arrays.underlying_price == 100.0 and arrays.unplaceable == 0


def test_time_to_expiry_runs_to_the_close_of_the_expiration_day() -> None:
    # 2025-12-05 closes at 16:00 New York = 21:00 UTC: 10 days and 6 hours after NOW.
    # 2025-11-28 (the day after Thanksgiving) closes early, 13:00 New York = 18:00 UTC: 3 days and 3 hours.
    arrays = build_chain(parsed([contract("call", 100, 0.05, 1, days=10), contract("call", 100, 0.05, 1, days=3)]), NOW)
    assert arrays.chain.days_to_expiry.tolist() == [10, 3]
    expected = [(10 * 86400 + 6 * 3600) / YEAR_SECONDS, (3 * 86400 + 3 * 3600) / YEAR_SECONDS]
    assert arrays.chain.years_to_expiry.tolist() == pytest.approx(expected, rel=1e-12)


def test_contracts_that_cannot_be_placed_are_counted_not_kept() -> None:
    broken = contract("call", 100, 0.05, 1)
    broken["details"]["strike_price"] = None
    odd = contract("straddle", 100, 0.05, 1)
    expired = contract("put", 100, 0.05, 1, days=-1)
    arrays = build_chain(parsed([broken, odd, expired, contract("call", 105, 0.05, 1)]), NOW)
    assert (len(arrays.chain), arrays.unplaceable) == (1, 3)


def test_an_empty_chain_builds_empty_arrays() -> None:
    arrays = build_chain([], NOW)
    assert (len(arrays.chain), arrays.unplaceable, arrays.underlying_price) == (0, 0, None)


def test_a_snapshot_has_three_views_with_hand_checked_dollars() -> None:
    # Spot 100. Call 100 (30 d): 0.05 × 1,000 × 100 × 100² × 0.01 = $500,000.
    # Put 95 (30 d): −0.04 × 500 × 100 × 100² × 0.01 = −$200,000. Call 110 (90 d): 0.02 × 300 × … = $60,000.
    # Nearest (30 d) and 30d views: both 30-day contracts; all: every one.
    chain = build_chain(parsed([contract("call", 100, 0.05, 1000, volume=7), contract("put", 95, 0.04, 500),
                                contract("call", 110, 0.02, 300, days=90)]), NOW)
    rows = {r.view: r for r in snapshot("SPY", chain, 100.0, taken_at=NOW, interval_s=300)}
    assert set(rows) == {"all", "nearest", "30d"}
    assert (rows["all"].call_gex, rows["all"].put_gex, rows["all"].net_gex) == (560_000.0, -200_000.0, 360_000.0)
    assert (rows["30d"].call_gex, rows["30d"].net_gex) == (500_000.0, 300_000.0)
    assert rows["nearest"].net_gex == 300_000.0
    assert (rows["all"].call_wall, rows["all"].put_wall) == (100.0, 95.0)
    assert rows["all"].strikes == {
        "strike": [95.0, 100.0, 110.0],
        "call_gex": [0.0, 500_000.0, 60_000.0],
        "put_gex": [-200_000.0, 0.0, 0.0],
        "net_gex": [-200_000.0, 500_000.0, 60_000.0],
        "call_oi": [0.0, 1000.0, 300.0],
        "put_oi": [500.0, 0.0, 0.0],
        "call_volume": [0.0, 7.0, 0.0],
        "put_volume": [0.0, 0.0, 0.0],
    }
    # No IV on these contracts: nothing to check Massive's gamma units against, and no zero-gamma profile.
    assert (rows["all"].gamma_unit_ratio, rows["all"].gamma_scale, rows["all"].zero_gamma) == (None, 1.0, None)


def test_gammas_that_arrive_per_cent_are_rescaled_and_say_so() -> None:
    years = (28 * 86400 + 6 * 3600) / YEAR_SECONDS  # 2025-12-23, a full session
    per_dollar = [float(bs_gamma(100.0, np.array([k]), np.array([0.2]), np.array([years]))[0]) for k in (95, 100, 105)]

    def chain_of(scale: float) -> Any:
        return build_chain(parsed([
            contract(kind, k, g * scale, 1000, iv=0.2, days=28)
            for kind, k, g in zip(("put", "call", "call"), (95, 100, 105), per_dollar, strict=True)
        ]), NOW)

    as_dollars = snapshot("SPY", chain_of(1.0), 100.0, taken_at=NOW, interval_s=300)[0]
    as_cents = snapshot("SPY", chain_of(0.01), 100.0, taken_at=NOW, interval_s=300)[0]
    assert as_dollars.gamma_unit_ratio == pytest.approx(1.0, rel=1e-6) and as_dollars.gamma_scale == 1.0
    assert as_cents.gamma_unit_ratio == pytest.approx(0.01, rel=1e-6) and as_cents.gamma_scale == 100.0
    assert as_cents.net_gex == pytest.approx(as_dollars.net_gex, rel=1e-9)


def test_runs_within_one_interval_share_a_bucket() -> None:
    assert bucket_of(datetime(2025, 11, 25, 15, 4, 59, tzinfo=UTC), 300) == datetime(2025, 11, 25, 15, 0, tzinfo=UTC)
    assert bucket_of(datetime(2025, 11, 25, 15, 5, 0, tzinfo=UTC), 300) == datetime(2025, 11, 25, 15, 5, tzinfo=UTC)


def test_the_symbols_are_the_configured_then_the_watchlists_each_once_in_stored_form() -> None:
    assert symbols_to_snapshot("SPX,NDX,SPY,QQQ", ["I:SPX", "AAPL", "spy", "not a ticker"]) == [
        "I:SPX", "I:NDX", "SPY", "QQQ", "AAPL",
    ]
