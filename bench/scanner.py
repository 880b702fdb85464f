"""The scanner's compute: one scan of 500 symbols with 5 sessions of 1-minute bars each, all detectors,
with the indicators vectorised (shared/signals) vs computed by a per-bar Python loop.

    .venv/bin/python bench/scanner.py [--symbols 500] [--sessions 5] [--repeat 3]

Both paths build the same series (asserted equal to 1e-9 relative before timing is reported), then
run every detector at each symbol's last bar. 5m, 15m and 1d bars are aggregated from the 1m ones
here only to have them; the scan itself reads Massive's own. No database or network: this is the
CPU part of a scan. It prints a Markdown row for `docs/benchmarks.md`.
"""

from __future__ import annotations

import argparse
import math
import platform
import statistics
import sys
import time
from datetime import date
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

from shared.market import calendar  # noqa: E402
from shared.signals import indicators as ind  # noqa: E402
from shared.signals.assets import asset_class  # noqa: E402
from shared.signals.confluence import DEFAULT_RULES  # noqa: E402
from shared.signals.evaluate import signals_at  # noqa: E402
from shared.signals.series import (  # noqa: E402
    BREAKOUT_BARS,
    MINUTE_MS,
    Bars,
    Intraday,
    SymbolSeries,
    Trend,
    series_from_bars,
    session_layout,
)

SYMBOLS = ["SPY", "QQQ", "I:SPX"] + [f"S{chr(65 + i // 26 % 26)}{chr(65 + i % 26)}" for i in range(600)]


def synthetic(sessions: int, seed: int) -> dict[str, Bars]:
    """A random walk of 1m bars over the last `sessions` sessions, with 5m, 15m and 1d grouped from it."""
    rng = np.random.default_rng(seed)
    days = calendar.recent_sessions(sessions, through=date(2026, 11, 25))
    t = np.concatenate([
        int(calendar.session_bounds(d)[0].timestamp() * 1000) + MINUTE_MS * np.arange(390)  # type: ignore[index]
        for d in days
    ]).astype(np.int64)
    n = t.size
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.0008, n)))
    spread = close * rng.uniform(0.0002, 0.0015, n)
    open_ = np.concatenate(([close[0]], close[:-1]))
    high = np.maximum(open_, close) + spread
    low = np.minimum(open_, close) - spread
    volume = rng.integers(500, 5000, n).astype(np.float64)
    minute = Bars(t, open_, high, low, close, volume, np.full(n, np.nan))

    def group(size: int) -> Bars:
        k = n // size
        sl = slice(0, k * size)
        shape = (k, size)
        return Bars(t[sl].reshape(shape)[:, 0].copy(), open_[sl].reshape(shape)[:, 0].copy(),
                    high[sl].reshape(shape).max(axis=1), low[sl].reshape(shape).min(axis=1),
                    close[sl].reshape(shape)[:, -1].copy(), volume[sl].reshape(shape).sum(axis=1), np.full(k, np.nan))

    return {"1m": minute, "5m": group(5), "15m": group(15), "1d": group(390)}


# ------------------------------------------------------------------------- the per-bar loop baseline


def loop_ema(values: np.ndarray, period: int) -> np.ndarray:
    out = [math.nan] * len(values)
    if len(values) >= period:
        out[period - 1] = sum(values[:period]) / period
        for i in range(period, len(values)):
            out[i] = ind.ema_step(out[i - 1], float(values[i]), period)
    return np.array(out)


def loop_rsi(close: np.ndarray, period: int = 14) -> np.ndarray:
    out = [math.nan] * len(close)
    state = ind.rsi_state(close[: period + 1], period)
    if state is not None:
        out[period] = state.value
        for i in range(period + 1, len(close)):
            state = ind.rsi_step(state, float(close[i]), period)
            out[i] = state.value
    return np.array(out)


def loop_atr(h: np.ndarray, lo: np.ndarray, c: np.ndarray, period: int = 14) -> np.ndarray:
    out = [math.nan] * len(c)
    ranges = [float(h[0] - lo[0])] + [
        max(float(h[i] - lo[i]), abs(float(h[i] - c[i - 1])), abs(float(lo[i] - c[i - 1]))) for i in range(1, len(c))
    ]
    if len(c) >= period:
        out[period - 1] = sum(ranges[:period]) / period
        for i in range(period, len(c)):
            out[i] = (out[i - 1] * (period - 1) + ranges[i]) / period
    return np.array(out)


def loop_intraday(minute_bars: Bars) -> Intraday:
    layout = session_layout(minute_bars.t)
    bars = minute_bars.select(layout.in_hours)
    sessions, minutes = layout.session_index[layout.in_hours], layout.minute[layout.in_hours]
    price = bars.price()
    n = len(bars)
    vwap, sd, rvol = [math.nan] * n, [math.nan] * n, [math.nan] * n
    or_high, or_low, range_high, range_low = [math.nan] * n, [math.nan] * n, [math.nan] * n, [math.nan] * n
    cum = (0.0, 0.0, 0.0)
    history: dict[int, list[float]] = {}
    current = -1
    top, bottom, first = -math.inf, math.inf, 0.0
    for i in range(n):
        p, v, s, m = float(price[i]), float(bars.v[i]), int(sessions[i]), int(minutes[i])
        if s != current:
            current, cum, top, bottom, first = s, (0.0, 0.0, 0.0), -math.inf, math.inf, p
        d = p - first  # deviations from the session's first price, as the vectorised form (precision)
        cum = (cum[0] + v, cum[1] + d * v, cum[2] + d * d * v)
        if cum[0] > 0:
            mean_d = cum[1] / cum[0]
            vwap[i] = first + mean_d
            sd[i] = math.sqrt(max(cum[2] / cum[0] - mean_d**2, 0.0))
        earlier = history.setdefault(m, [])
        window = earlier[-ind.RVOL_SESSIONS:]
        if window and sum(window) > 0:
            rvol[i] = v / (sum(window) / len(window))
        earlier.append(v)
        if m < ind.OPENING_RANGE_MINUTES:
            top, bottom = max(top, float(bars.h[i])), min(bottom, float(bars.l[i]))
        elif math.isfinite(top):
            or_high[i], or_low[i] = top, bottom
        if i >= BREAKOUT_BARS:
            range_high[i] = max(bars.h[i - BREAKOUT_BARS:i])
            range_low[i] = min(bars.l[i - BREAKOUT_BARS:i])
    return Intraday(bars, sessions, minutes, loop_ema(bars.c, 9), loop_ema(bars.c, 21), loop_ema(bars.c, 50),
                    loop_rsi(bars.c), loop_atr(bars.h, bars.l, bars.c), np.array(vwap), np.array(sd),
                    np.array(rvol), np.array(or_high), np.array(or_low), np.array(range_high), np.array(range_low))


def loop_trend(bars: Bars, duration: int) -> Trend:
    return Trend(bars, duration, loop_ema(bars.c, 9), loop_ema(bars.c, 21), loop_ema(bars.c, 50),
                 loop_atr(bars.h, bars.l, bars.c))


def loop_series(symbol: str, frames: dict[str, Bars]) -> SymbolSeries:
    return SymbolSeries(
        symbol, asset_class(symbol), loop_intraday(frames["1m"]), loop_trend(frames["5m"], 5 * MINUTE_MS),
        loop_trend(frames["15m"], 15 * MINUTE_MS), loop_trend(frames["1d"], 86_400_000),
    )


# ------------------------------------------------------------------------- the scan


def scan(universe: list[tuple[str, dict[str, Bars]]], build: Any) -> tuple[int, list[SymbolSeries]]:
    fired, built = 0, []
    for symbol, frames in universe:
        series = build(symbol, frames)
        fired += len(signals_at(series.view(len(series.minute.bars) - 1), DEFAULT_RULES))
        built.append(series)
    return fired, built


def vectorised(symbol: str, frames: dict[str, Bars]) -> SymbolSeries:
    return series_from_bars(symbol, asset_class(symbol), frames)


Universe = list[tuple[str, dict[str, Bars]]]


def timed(universe: Universe, build: Any, repeat: int) -> tuple[float, float, list[SymbolSeries]]:
    cpu: list[float] = []
    wall: list[float] = []
    built: list[SymbolSeries] = []
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        _, built = scan(universe, build)
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(cpu), statistics.median(wall), built


def same(a: SymbolSeries, b: SymbolSeries) -> None:
    for name in ("ema9", "ema21", "ema50", "rsi", "atr", "vwap", "vwap_sd", "rvol", "or_high", "or_low",
                 "range_high", "range_low"):
        np.testing.assert_allclose(getattr(a.minute, name), getattr(b.minute, name), rtol=1e-9, atol=1e-9,
                                   err_msg=f"{a.symbol} {name}")
    for frame in ("five", "fifteen", "daily"):
        for name in ("ema9", "ema21", "ema50", "atr"):
            np.testing.assert_allclose(getattr(getattr(a, frame), name), getattr(getattr(b, frame), name),
                                       rtol=1e-9, err_msg=f"{a.symbol} {frame} {name}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--symbols", type=int, default=500)
    parser.add_argument("--sessions", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    universe = [(SYMBOLS[i], synthetic(args.sessions, i)) for i in range(args.symbols)]
    bars = sum(len(f["1m"]) for _, f in universe)
    fast_cpu, fast_wall, fast = timed(universe, vectorised, args.repeat)
    loop_cpu, loop_wall, slow = timed(universe, loop_series, 1)
    for a, b in zip(fast, slow, strict=True):
        same(a, b)
    fired, _ = scan(universe, vectorised)
    print(f"# {platform.machine()} python {platform.python_version()} numpy {np.__version__}")
    print("| symbols | 1m bars | signals at the last bar | vectorised CPU s | wall s | per-bar loop CPU s | wall s |"
          " loop / vectorised (CPU) |")
    print("|---|---|---|---|---|---|---|---|")
    print(f"| {args.symbols} | {bars:,} | {fired} | {fast_cpu:.2f} | {fast_wall:.2f} | {loop_cpu:.2f} |"
          f" {loop_wall:.2f} | {loop_cpu / fast_cpu:.1f}× |")


if __name__ == "__main__":
    main()
