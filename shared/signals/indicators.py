"""The scanner's indicators over numpy arrays: EMA, RSI and ATR (Wilder), session VWAP and its
bands, relative volume against the same minute of earlier sessions, and the opening range.

The whole-series forms are vectorised (no per-bar Python loop); EMA, RSI and ATR also have a
one-step form that continues from a saved state, so a scan can start warm from what the weekend
pre-warm stored and get exactly what the whole series would have given.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
# One label per bar naming its session: strings, or the session numbers the scanner uses.
SessionLabels = list[str] | NDArray[Any]
EMA_PERIODS = (9, 21, 50)
RSI_PERIOD = 14
ATR_PERIOD = 14


def _array(values: object) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


# Long enough to amortise numpy's call overhead, short enough that decay**-BLOCK never overflows
# (0.8**-256 is about 1e25: EMA 9 has the fastest decay used here).
_BLOCK = 256


def linear_recurrence(values: FloatArray, decay: float, gain: float, initial: float) -> FloatArray:
    """y[i] = decay * y[i-1] + gain * values[i] with y[-1] = `initial`, without a per-bar loop.

    Unrolled per block: y[i] = decay**(i+1) * y[-1] + gain * decay**i * cumsum(values[j] / decay**j).
    """
    out = np.empty(values.shape)
    previous = initial
    for start in range(0, values.size, _BLOCK):
        chunk = values[start : start + _BLOCK]
        powers = decay ** np.arange(chunk.size, dtype=np.float64)
        block = powers * (decay * previous + gain * np.cumsum(chunk / powers))
        out[start : start + chunk.size] = block
        previous = float(block[-1])
    return out


# ---------------------------------------------------------------------------------------------
# EMA: seeded with the simple mean of the first `period` values, then alpha = 2 / (period + 1).
# ---------------------------------------------------------------------------------------------


def ema(values: object, period: int) -> FloatArray:
    """EMA of `values`; NaN until `period` values have been seen."""
    data = _array(values)
    out = np.full(data.shape, np.nan)
    if period < 1 or data.size < period:
        return out
    alpha = 2.0 / (period + 1)
    seed = float(data[:period].mean())
    out[period - 1] = seed
    out[period:] = linear_recurrence(data[period:], 1 - alpha, alpha, seed)
    return out


def ema_step(previous: float, value: float, period: int) -> float:
    """The next EMA value after `previous` given a new `value`."""
    alpha = 2.0 / (period + 1)
    return alpha * value + (1 - alpha) * previous


# ---------------------------------------------------------------------------------------------
# RSI (Wilder): average gain and loss seeded with simple means over the first `period` changes.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RsiState:
    avg_gain: float
    avg_loss: float
    last_close: float

    @property
    def value(self) -> float:
        if self.avg_loss == 0:
            return 100.0 if self.avg_gain > 0 else 50.0
        return 100.0 - 100.0 / (1.0 + self.avg_gain / self.avg_loss)


def rsi_state(closes: object, period: int = RSI_PERIOD) -> RsiState | None:
    """The Wilder RSI state after `closes`; None with fewer than `period` + 1 closes."""
    data = _array(closes)
    if data.size < period + 1:
        return None
    changes = np.diff(data)
    gains = np.clip(changes, 0, None)
    losses = np.clip(-changes, 0, None)
    state = RsiState(float(gains[:period].mean()), float(losses[:period].mean()), float(data[period]))
    for i in range(period, changes.size):
        state = rsi_step(state, float(data[i + 1]), period)
    return state


def rsi_step(state: RsiState, close: float, period: int = RSI_PERIOD) -> RsiState:
    change = close - state.last_close
    gain, loss = max(change, 0.0), max(-change, 0.0)
    return RsiState(
        (state.avg_gain * (period - 1) + gain) / period,
        (state.avg_loss * (period - 1) + loss) / period,
        close,
    )


def rsi(closes: object, period: int = RSI_PERIOD) -> FloatArray:
    """RSI per close; NaN for the first `period` closes."""
    data = _array(closes)
    out = np.full(data.shape, np.nan)
    if data.size < period + 1:
        return out
    changes = np.diff(data)
    gains, losses = np.clip(changes, 0, None), np.clip(-changes, 0, None)
    decay, gain = (period - 1) / period, 1.0 / period
    avg_gain = linear_recurrence(gains[period:], decay, gain, float(gains[:period].mean()))
    avg_loss = linear_recurrence(losses[period:], decay, gain, float(losses[:period].mean()))
    avg_gain = np.concatenate(([gains[:period].mean()], avg_gain))
    avg_loss = np.concatenate(([losses[:period].mean()], avg_loss))
    with np.errstate(divide="ignore", invalid="ignore"):
        value = 100.0 - 100.0 / (1.0 + avg_gain / avg_loss)
    # No losses at all: 100 when there were gains, 50 for a flat series (RsiState.value's rule).
    value = np.where(avg_loss == 0, np.where(avg_gain > 0, 100.0, 50.0), value)
    out[period:] = value
    return out


# ---------------------------------------------------------------------------------------------
# ATR (Wilder): true range; the first ATR is the mean of the first `period` true ranges (the
# first bar's range is high - low, having no previous close).
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AtrState:
    value: float
    last_close: float


def true_range(high: object, low: object, close: object) -> FloatArray:
    h, lo, c = _array(high), _array(low), _array(close)
    previous = np.concatenate(([np.nan], c[:-1]))
    ranges = np.fmax(h - lo, np.fmax(np.abs(h - previous), np.abs(lo - previous)))
    return ranges


def atr(high: object, low: object, close: object, period: int = ATR_PERIOD) -> FloatArray:
    """ATR per bar; NaN until `period` bars have been seen."""
    ranges = true_range(high, low, close)
    out = np.full(ranges.shape, np.nan)
    if ranges.size < period:
        return out
    seed = float(ranges[:period].mean())
    out[period - 1] = seed
    out[period:] = linear_recurrence(ranges[period:], (period - 1) / period, 1.0 / period, seed)
    return out


def atr_step(state: AtrState, high: float, low: float, close: float, period: int = ATR_PERIOD) -> AtrState:
    tr = max(high - low, abs(high - state.last_close), abs(low - state.last_close))
    return AtrState((state.value * (period - 1) + tr) / period, close)


# ---------------------------------------------------------------------------------------------
# Session VWAP: cumulative price x volume over cumulative volume, restarting each session.
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VwapState:
    session: str
    cum_pv: float
    cum_v: float

    @property
    def value(self) -> float | None:
        return self.cum_pv / self.cum_v if self.cum_v > 0 else None


def session_vwap(price: object, volume: object, sessions: SessionLabels) -> FloatArray:
    """VWAP per bar, restarting whenever `sessions` (one session label per bar) changes.

    `price` is each bar's own VWAP where Massive gives it (`vw`), else its typical price.
    """
    p, v = _array(price), _array(volume)
    cum_pv, cum_v = _session_cumsum(p * v, sessions), _session_cumsum(v, sessions)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(cum_v > 0, cum_pv / cum_v, np.nan)


def session_starts(sessions: SessionLabels) -> NDArray[np.bool_]:
    """True at each bar that opens a new session label."""
    labels = np.asarray(sessions)
    starts = np.ones(labels.shape, dtype=bool)
    if labels.size > 1:
        starts[1:] = labels[1:] != labels[:-1]
    return starts


def _session_cumsum(values: FloatArray, sessions: SessionLabels) -> FloatArray:
    """Running sum of `values` that restarts at every session start.

    One cumsum per session (a handful per scan), not one global cumsum less an offset: subtracting
    the earlier sessions' large total would cost the small sums of a new session their precision.
    """
    out = np.empty(values.shape)
    bounds = np.append(np.flatnonzero(session_starts(sessions)), values.size)
    for start, end in itertools.pairwise(bounds):
        out[start:end] = np.cumsum(values[start:end])
    return out


@dataclass(frozen=True)
class VwapBands:
    """Session VWAP and its volume-weighted standard deviation bands (±1 and ±2 sd)."""

    vwap: FloatArray
    sd: FloatArray

    def band(self, k: float) -> FloatArray:
        return self.vwap + k * self.sd


def vwap_bands(price: object, volume: object, sessions: SessionLabels) -> VwapBands:
    """VWAP per bar with sd = sqrt(sum(v * p^2) / sum(v) - vwap^2) over the session so far."""
    p, v = _array(price), _array(volume)
    # Deviations from each session's first price: the variance is the same, and E[x²] - E[x]² of
    # small deviations keeps its precision where that of raw prices would cancel.
    starts = session_starts(sessions)
    first = p[np.flatnonzero(starts)][np.cumsum(starts) - 1] if p.size else p
    d = p - first
    cum_v = _session_cumsum(v, sessions)
    cum_dv = _session_cumsum(d * v, sessions)
    cum_d2v = _session_cumsum(d * d * v, sessions)
    with np.errstate(divide="ignore", invalid="ignore"):
        mean_d = np.where(cum_v > 0, cum_dv / cum_v, np.nan)
        mean = first + mean_d
        variance = np.where(cum_v > 0, cum_d2v / cum_v - mean_d * mean_d, np.nan)
    # Rounding can leave a constant price's variance a hair below zero.
    return VwapBands(mean, np.sqrt(np.clip(variance, 0.0, None)))


def vwap_step(state: VwapState | None, session: str, price: float, volume: float) -> VwapState:
    if state is None or state.session != session:
        return VwapState(session, price * volume, volume)
    return VwapState(session, state.cum_pv + price * volume, state.cum_v + volume)


def typical_price(high: object, low: object, close: object) -> FloatArray:
    return (_array(high) + _array(low) + _array(close)) / 3.0


# ---------------------------------------------------------------------------------------------
# Relative volume: a bar's volume over the mean volume of the same minute of the session in the
# previous `lookback` sessions (only the sessions that have a bar at that minute count).
# ---------------------------------------------------------------------------------------------

RVOL_SESSIONS = 10


def relative_volume(
    volume: object, session_index: NDArray[np.int64], minute: NDArray[np.int64], lookback: int = RVOL_SESSIONS
) -> FloatArray:
    """Per bar: volume / mean(volume at the same `minute` of the previous `lookback` sessions).

    `session_index` numbers each bar's session 0, 1, 2, … (oldest first) and `minute` is its
    minute since that session's open. NaN where no earlier session has that minute, or its mean is 0.
    """
    v = _array(volume)
    out = np.full(v.shape, np.nan)
    if v.size == 0:
        return out
    sessions = int(session_index.max()) + 1
    minutes = int(minute.max()) + 1
    grid = np.zeros((sessions + 1, minutes))
    seen = np.zeros((sessions + 1, minutes))
    grid[session_index + 1, minute] = v
    seen[session_index + 1, minute] = 1.0
    # Row s + 1 of the running sums covers sessions 0..s; a window is the difference of two rows.
    sums, counts = np.cumsum(grid, axis=0), np.cumsum(seen, axis=0)
    low = np.clip(session_index - lookback, 0, None)
    window_sum = sums[session_index, minute] - sums[low, minute]
    window_count = counts[session_index, minute] - counts[low, minute]
    with np.errstate(divide="ignore", invalid="ignore"):
        mean = window_sum / window_count
        ratio = v / mean
    return np.where((window_count > 0) & (mean > 0), ratio, out)


# ---------------------------------------------------------------------------------------------
# Opening range: the high and low of a session's first `minutes` minutes, known only once that
# window has closed (NaN on the bars inside it, so nothing reads the range before it exists).
# ---------------------------------------------------------------------------------------------

OPENING_RANGE_MINUTES = 15


def opening_range(
    high: object, low: object, session_index: NDArray[np.int64], minute: NDArray[np.int64],
    minutes: int = OPENING_RANGE_MINUTES,
) -> tuple[FloatArray, FloatArray]:
    """(range high, range low) per bar, from bars whose `minute` is below `minutes`."""
    h, lo = _array(high), _array(low)
    top, bottom = np.full(h.shape, np.nan), np.full(h.shape, np.nan)
    if h.size == 0:
        return top, bottom
    sessions = int(session_index.max()) + 1
    in_range = minute < minutes
    highs = np.full(sessions, -np.inf)
    lows = np.full(sessions, np.inf)
    np.maximum.at(highs, session_index[in_range], h[in_range])
    np.minimum.at(lows, session_index[in_range], lo[in_range])
    known = (minute >= minutes) & np.isfinite(highs[session_index])
    top[known] = highs[session_index][known]
    bottom[known] = lows[session_index][known]
    return top, bottom


def rolling_max(values: object, window: int) -> FloatArray:
    """Max of the `window` values before each one (excluding it); NaN until `window` exist."""
    data = _array(values)
    out = np.full(data.shape, np.nan)
    if data.size <= window:
        return out
    views = np.lib.stride_tricks.sliding_window_view(data, window)
    out[window:] = views[:-1].max(axis=1)
    return out


def rolling_min(values: object, window: int) -> FloatArray:
    """Min of the `window` values before each one (excluding it); NaN until `window` exist."""
    return -rolling_max(-_array(values), window)
