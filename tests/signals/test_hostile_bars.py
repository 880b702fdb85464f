"""Odd bars never crash a scan or fire on nonsense: empty, single, zero volume, flat, gaps, wild prices."""

from __future__ import annotations

import numpy as np
import pytest

from shared.signals.confluence import DEFAULT_RULES
from shared.signals.evaluate import signals_at
from shared.signals.replay import replay
from shared.signals.series import Bars, series_from_bars
from tests.signals.synthetic import MINUTE, TODAY, bar, flat_sessions, last_view, series, today_minutes


def test_a_symbol_without_bars_has_nothing_to_scan() -> None:
    s = series_from_bars("SPY", "etf", {})
    assert len(s.minute.bars) == 0
    assert replay(s, TODAY, DEFAULT_RULES) == []


def test_a_single_bar_fires_nothing() -> None:
    assert signals_at(last_view(series("SPY", today_minutes([bar(0, 100.0)]))), DEFAULT_RULES) == []


def test_zero_volume_everywhere_fires_nothing() -> None:
    rows = flat_sessions(3, volume=0.0) + today_minutes([bar(0, 100.0 + k * 0.3, v=0.0) for k in range(60)])
    s = series("SPY", rows)
    assert np.isnan(s.minute.vwap).all()
    assert replay(s, TODAY, DEFAULT_RULES) == []


def test_bars_outside_regular_hours_are_not_scanned() -> None:
    early = [{**bar(0, 100.0), "t": r["t"] - 60 * MINUTE} for r in today_minutes([bar(0, 100.0)] * 30)]
    s = series("SPY", early)
    assert len(s.minute.bars) == 0


@pytest.mark.parametrize("seed", range(6))
def test_random_and_wild_bars_replay_without_error(seed: int) -> None:
    rng = np.random.default_rng(seed)
    rows = flat_sessions(2)
    price = 100.0
    for _ in range(390):
        price = max(0.01, price * float(np.exp(rng.normal(0, 0.05 if seed % 2 else 0.002))))
        spread = price * float(rng.uniform(0, 0.02))
        volume = float(rng.choice([0.0, 1.0, 1e3, 1e9]))
        opened = price * float(rng.uniform(0.98, 1.02))
        rows.append(bar(0, price, o=opened, h=price + spread, lo=max(price - spread, 1e-4), v=volume))
    rows[-390:] = today_minutes(rows[-390:])
    s = series("I:SPX" if seed % 3 == 0 else "SPY", rows, five=rows[-390::5], fifteen=rows[-390::15])
    for fired in replay(s, TODAY, DEFAULT_RULES):
        signal = fired.signal
        assert 0 <= signal.score <= 100 and signal.rr >= DEFAULT_RULES.min_rr
        assert signal.stop != signal.candidate.entry and np.isfinite(signal.targets).all()


def test_stored_rows_with_missing_vwap_and_volume_are_read() -> None:
    bars = Bars.from_rows([{"t": 0, "o": 1.0, "h": 2.0, "l": 0.5, "c": 1.5, "v": None, "vw": None}])
    assert bars.v.tolist() == [0.0] and np.isnan(bars.vw).all()
