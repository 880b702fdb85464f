"""Gamma exposure on small chains whose every figure is worked by hand."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pytest

from shared.gamma.exposure import (
    Chain,
    bs_gamma,
    exposure,
    gamma_scale,
    gamma_unit_ratio,
    max_pain,
    view_mask,
    zero_gamma_level,
)

NAN = float("nan")


def chain(rows: Sequence[tuple[float, bool, float, float, float]], *, days: list[int] | None = None,
          years: float = 0.25, iv: float = 0.2) -> Chain:
    """Rows of (strike, is_call, gamma, open interest, volume)."""
    count = len(rows)
    return Chain(
        strike=np.array([r[0] for r in rows], dtype=np.float64),
        is_call=np.array([r[1] for r in rows], dtype=np.bool_),
        days_to_expiry=np.array(days if days is not None else [30] * count, dtype=np.int64),
        years_to_expiry=np.full(count, years, dtype=np.float64),
        gamma=np.array([r[2] for r in rows], dtype=np.float64),
        iv=np.full(count, iv, dtype=np.float64),
        open_interest=np.array([r[3] for r in rows], dtype=np.float64),
        volume=np.array([r[4] for r in rows], dtype=np.float64),
    )


def test_calls_count_positive_puts_negative_in_dollars_per_one_percent() -> None:
    # Call: 0.05 × 1,000 OI × 100 × 100² × 0.01 = $500,000; put: 0.04 × 500 × 100 × 100² × 0.01 = −$200,000.
    result = exposure(chain([(100, True, 0.05, 1000, 10), (95, False, 0.04, 500, 20)]), 100.0)
    assert (result.call_gex, result.put_gex, result.net_gex) == pytest.approx((500_000, -200_000, 300_000))
    assert (result.call_wall, result.put_wall) == (100.0, 95.0)
    by_strike = {row.strike: row for row in result.strikes}
    assert (by_strike[95].put_oi, by_strike[95].put_volume, by_strike[100].call_oi) == (500, 20, 1000)


def test_gex_scales_with_the_square_of_spot() -> None:
    rows = [(100.0, True, 0.05, 1000.0, 0.0)]
    assert exposure(chain(rows), 200.0).call_gex == pytest.approx(4 * exposure(chain(rows), 100.0).call_gex)


def test_the_walls_are_the_largest_call_and_the_most_negative_put_strikes() -> None:
    rows = [(100, True, 0.05, 100, 0), (105, True, 0.05, 900, 0), (90, False, 0.05, 800, 0), (95, False, 0.05, 50, 0)]
    result = exposure(chain(rows), 100.0)
    assert (result.call_wall, result.put_wall) == (105.0, 90.0)


def test_a_chain_whose_puts_all_lack_greeks_counts_them_and_has_no_put_wall() -> None:
    result = exposure(chain([(100, True, 0.05, 1000, 0), (95, False, NAN, 500, 0), (90, False, NAN, 300, 0)]), 100.0)
    assert (result.contracts, result.contracts_without_greeks, result.put_gex, result.put_wall) == (3, 2, 0.0, None)


def test_contracts_without_open_interest_are_counted_not_dropped() -> None:
    result = exposure(chain([(100, True, 0.05, NAN, 0), (100, False, 0.05, 10, 0)]), 100.0)
    assert (result.contracts, result.contracts_without_open_interest) == (2, 1)


def test_max_pain_on_a_textbook_chain() -> None:
    # Settling at 90 the puts at 100 and 110 pay 10 × 200 + 20 × 100 = 4,000; at 100 the call at 90
    # pays 10 × 100 and the put at 110 10 × 100 = 2,000; at 110 the calls pay 20 × 100 + 10 × 200 = 4,000.
    rows = [(90, True, 0.01, 100, 0), (100, True, 0.01, 200, 0), (110, True, 0.01, 300, 0),
            (90, False, 0.01, 300, 0), (100, False, 0.01, 200, 0), (110, False, 0.01, 100, 0)]
    assert max_pain(chain(rows)) == 100.0


def test_zero_gamma_of_a_symmetric_put_and_call_is_where_their_gammas_meet() -> None:
    # A put at 90 and a call at 110 with equal OI, IV 20 %, T 0.25: their gammas are equal where
    # |d1| agrees, at S = √(90 × 110) × e^(−σ²T/2) = √9900 × e^(−0.005) = 99.0025.
    rows = [(90, False, NAN, 1000, 0), (110, True, NAN, 1000, 0)]
    level = zero_gamma_level(chain(rows), 100.0)
    assert level == pytest.approx(math.sqrt(9900) * math.exp(-0.005), abs=0.05)


def test_no_crossing_in_range_is_no_level_not_an_error() -> None:
    assert zero_gamma_level(chain([(100, True, NAN, 1000, 0), (105, True, NAN, 500, 0)]), 100.0) is None
    assert exposure(chain([(100, True, 0.05, 1000, 0)]), 100.0).zero_gamma is None


def test_an_empty_chain_has_no_levels() -> None:
    result = exposure(chain([]), 100.0)
    assert (result.net_gex, result.call_wall, result.zero_gamma, result.max_pain, result.strikes) == (
        0.0, None, None, None, [],
    )


def test_the_views_take_all_the_nearest_expiration_or_the_next_30_days() -> None:
    c = chain([(100, True, 0.05, 1, 0)] * 4, days=[0, 0, 20, 45])
    assert (view_mask(c, "all").sum(), view_mask(c, "nearest").sum(), view_mask(c, "30d").sum()) == (4, 2, 3)


def test_black_scholes_gamma_at_the_money() -> None:
    # S = K = 100, σ = 0.2, T = 1: d1 = 0.1, Γ = φ(0.1) / (100 × 0.2) = 0.396953 / 20 = 0.0198476.
    gamma = bs_gamma(100.0, np.array([100.0]), np.array([0.2]), np.array([1.0]))
    assert gamma[0] == pytest.approx(0.0198476, rel=1e-5)


def test_gammas_per_dollar_are_used_as_they_come_and_per_cent_are_rescaled() -> None:
    strikes = np.linspace(90, 110, 21)
    per_dollar = bs_gamma(100.0, strikes, np.full(21, 0.2), np.full(21, 0.25))
    base = chain([(float(k), True, float(g), 100, 0) for k, g in zip(strikes, per_dollar, strict=True)])
    ratio = gamma_unit_ratio(base, 100.0)
    assert ratio == pytest.approx(1.0) and gamma_scale(ratio) == 1.0
    per_cent = chain([(float(k), True, float(g) / 100, 100, 0) for k, g in zip(strikes, per_dollar, strict=True)])
    assert gamma_scale(gamma_unit_ratio(per_cent, 100.0)) == 100.0
