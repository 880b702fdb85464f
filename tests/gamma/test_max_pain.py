"""Max pain by sorted strikes and cumulative sums: the same figures as the strikes × contracts sum, hand-worked."""

from __future__ import annotations

import time

import numpy as np
import pytest

from shared.gamma.exposure import max_pain, pain_by_strike, zero_gamma_level
from tests.gamma.test_exposure import chain


def test_the_pain_at_each_strike_is_the_holders_intrinsic_value_there() -> None:
    # Calls 100 × 10 OI and 110 × 5; puts 105 × 20 and 95 × 8.
    # At 95:  puts 105 pay 20 × 10 = 200                       → 200
    # At 100: puts 105 pay 20 × 5 = 100                        → 100
    # At 105: the call at 100 pays 10 × 5 = 50                 → 50
    # At 110: the call at 100 pays 10 × 10 = 100, 110 pays 0   → 100
    rows = [(100, True, 0.01, 10, 0), (110, True, 0.01, 5, 0), (105, False, 0.01, 20, 0), (95, False, 0.01, 8, 0)]
    strikes, pain = pain_by_strike(chain(rows))
    assert strikes.tolist() == [95.0, 100.0, 105.0, 110.0]
    assert pain.tolist() == pytest.approx([200.0, 100.0, 50.0, 100.0])
    assert max_pain(chain(rows)) == 105.0


def test_contracts_without_open_interest_add_no_pain() -> None:
    # The put at 120 has no OI: at 100 only the call at 90 pays, 4 × 10 = 40; at 90 nothing does.
    rows = [(90, True, 0.01, 4, 0), (100, True, 0.01, float("nan"), 0), (120, False, 0.01, 0, 0)]
    _, pain = pain_by_strike(chain(rows))
    assert pain.tolist() == pytest.approx([0.0, 40.0, 120.0])
    assert max_pain(chain(rows)) == 90.0


def test_it_matches_the_strikes_by_contracts_sum_on_a_random_chain() -> None:
    rng = np.random.default_rng(5)
    count = 3000
    rows = [(float(rng.integers(50, 150)), bool(rng.random() < 0.5), 0.01, float(rng.integers(0, 500)), 0.0)
            for _ in range(count)]
    tested = chain(rows)
    settle = np.unique(tested.strike)[:, np.newaxis]
    payoff = np.where(tested.is_call, np.maximum(settle - tested.strike, 0), np.maximum(tested.strike - settle, 0))
    brute = (payoff * tested.open_interest).sum(axis=1)
    _, pain = pain_by_strike(tested)
    assert pain == pytest.approx(brute)


def test_twenty_thousand_distinct_strikes_need_no_strikes_by_contracts_matrix() -> None:
    count = 40_000
    rows = [(100.0 + i * 0.5, i % 2 == 0, 0.01, 100.0, 0.0) for i in range(count // 2)] * 2
    started = time.perf_counter()
    assert max_pain(chain(rows)) is not None
    zero_gamma_level(chain(rows), 5000.0)
    # A guard, not a benchmark (bench/hostile_chain.py): the old strikes × contracts matrix took 31 s and 9.5 GB.
    assert time.perf_counter() - started < 10.0
