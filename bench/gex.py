"""Gamma exposure: one snapshot of a synthetic 20,000-contract chain, vectorised vs a per-contract loop.

    .venv/bin/python bench/gex.py [--contracts 20000] [--repeat 7]

A snapshot is all three views (all, nearest, 30d), each with its per-strike sums, walls, max pain
and the zero-gamma profile over 60 trial levels. The loop computes the same numbers one contract at
a time with `math`, as a straightforward implementation would; both must agree to 1e-9 relative.
It prints a Markdown row for `docs/benchmarks.md`.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from shared.gamma.exposure import (  # noqa: E402
    CONTRACT_SIZE,
    MIN_YEARS,
    ONE_PERCENT,
    TRIAL_LEVELS,
    TRIAL_RANGE,
    Chain,
    Exposure,
    exposure,
    view_mask,
)
from shared.gamma.figures import VIEWS  # noqa: E402

SPOT = 6000.0


def synthetic_chain(contracts: int, seed: int = 7) -> Chain:
    """An SPX-like chain: strikes every 5 points around spot, 40 expirations, calls and puts."""
    rng = np.random.default_rng(seed)
    expiries = np.array([0, 1, 2, 3, 4, 7, 9, 11, 14, 16, 18, 21, 23, 25, 28, 30, 35, 42, 49, 56, 63, 77, 91,
                         105, 119, 147, 182, 210, 245, 273, 301, 336, 364, 427, 455, 546, 637, 728, 819, 910])
    days = rng.choice(expiries, contracts)
    strikes = SPOT + 5.0 * rng.integers(-400, 401, contracts)
    iv = 0.12 + 0.25 * np.abs(np.log(strikes / SPOT)) + rng.uniform(0, 0.05, contracts)
    years = np.maximum(days / 365.0, MIN_YEARS)
    is_call = rng.random(contracts) < 0.5
    sigma_t = iv * np.sqrt(years)
    d1 = (np.log(SPOT / strikes) + 0.5 * sigma_t**2) / sigma_t
    gamma = np.exp(-0.5 * d1**2) / (SPOT * sigma_t * math.sqrt(2 * math.pi))
    gamma[rng.random(contracts) < 0.03] = np.nan  # some contracts come without greeks
    return Chain(
        strike=strikes.astype(np.float64),
        is_call=is_call,
        days_to_expiry=days.astype(np.int64),
        years_to_expiry=years.astype(np.float64),
        gamma=gamma,
        iv=iv,
        open_interest=rng.integers(0, 20000, contracts).astype(np.float64),
        volume=rng.integers(0, 5000, contracts).astype(np.float64),
    )


def _loop_gamma(spot: float, strike: float, iv: float, years: float) -> float:
    sigma_t = iv * math.sqrt(max(years, MIN_YEARS))
    d1 = (math.log(spot / strike) + 0.5 * sigma_t * sigma_t) / sigma_t
    return math.exp(-0.5 * d1 * d1) / (spot * sigma_t * math.sqrt(2 * math.pi))


def loop_snapshot(chain: Chain, spot: float) -> dict[str, tuple[float, float, float | None, float | None]]:
    """(net GEX, call GEX, zero gamma, max pain) per view, one contract at a time."""
    results: dict[str, tuple[float, float, float | None, float | None]] = {}
    for view in VIEWS:
        indices = [i for i, keep in enumerate(view_mask(chain, view).tolist()) if keep]
        net, call = 0.0, 0.0
        for i in indices:
            gamma, oi = float(chain.gamma[i]), float(chain.open_interest[i])
            if math.isnan(gamma) or math.isnan(oi):
                continue
            gex = gamma * oi * CONTRACT_SIZE * spot * spot * ONE_PERCENT
            if chain.is_call[i]:
                net, call = net + gex, call + gex
            else:
                net -= gex
        low, high = TRIAL_RANGE[0] * spot, TRIAL_RANGE[1] * spot
        levels = [low + (high - low) * k / (TRIAL_LEVELS - 1) for k in range(TRIAL_LEVELS)]
        profile = []
        for level in levels:
            total = 0.0
            for i in indices:
                oi = float(chain.open_interest[i])
                if math.isnan(oi) or oi <= 0:
                    continue
                g = _loop_gamma(level, float(chain.strike[i]), float(chain.iv[i]), float(chain.years_to_expiry[i]))
                total += (1 if chain.is_call[i] else -1) * g * oi * CONTRACT_SIZE * level * level * ONE_PERCENT
            profile.append(total)
        zero: float | None = None
        for k in range(TRIAL_LEVELS - 1):
            if profile[k] * profile[k + 1] < 0:
                level = levels[k + 1] - (levels[k + 1] - levels[k]) * profile[k + 1] / (profile[k + 1] - profile[k])
                if zero is None or abs(level - spot) < abs(zero - spot):
                    zero = level
        nearest_day = min(int(chain.days_to_expiry[i]) for i in indices)
        nearest = [i for i in indices if int(chain.days_to_expiry[i]) == nearest_day]
        best: tuple[float, float] | None = None
        for settle in sorted({float(chain.strike[i]) for i in nearest}):
            pain: float = 0.0
            for i in nearest:
                strike, oi = float(chain.strike[i]), float(chain.open_interest[i])
                pain += oi * (max(settle - strike, 0.0) if chain.is_call[i] else max(strike - settle, 0.0))
            if best is None or pain < best[0]:
                best = (pain, settle)
        results[view] = (net, call, zero, best[1] if best else None)
    return results


def _close(a: float | None, b: float | None) -> bool:
    if a is None or b is None:
        return a is b
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-6)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--contracts", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    chain = synthetic_chain(args.contracts)

    timings = []
    snapshot: dict[str, Exposure] = {}
    for _ in range(args.repeat):
        started = time.perf_counter()
        snapshot = {view: exposure(chain, SPOT, view) for view in VIEWS}
        timings.append(time.perf_counter() - started)
    started = time.perf_counter()
    looped = loop_snapshot(chain, SPOT)
    loop_s = time.perf_counter() - started

    for view in VIEWS:
        ours = snapshot[view]
        theirs = looped[view]
        assert _close(ours.net_gex, theirs[0]) and _close(ours.call_gex, theirs[1]), view
        assert _close(ours.zero_gamma, theirs[2]) and _close(ours.max_pain, theirs[3]), view

    median = statistics.median(timings)
    print(f"machine: {platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}")
    print(f"| contracts | views | trial levels | vectorised (median of {args.repeat}) | per-contract loop"
          " | loop / vectorised |")
    print("|---|---|---|---|---|---|")
    print(f"| {args.contracts:,} | {len(VIEWS)} | {TRIAL_LEVELS} | {median * 1000:.1f} ms | {loop_s * 1000:,.0f} ms"
          f" | {loop_s / median:,.0f}× |")
    print("both agree to 1e-9 relative on net and call GEX, zero gamma and max pain in every view")


if __name__ == "__main__":
    main()
