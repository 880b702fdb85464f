"""The scanner's indicators over numpy arrays: EMA, RSI and ATR (Wilder), and session VWAP.

Each has a whole-series form (for warm-up and tests) and a one-step form that continues from
a saved state, so a scan can start warm from what the weekend pre-warm stored and get exactly
what the whole series would have given.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
EMA_PERIODS = (9, 21, 50)
RSI_PERIOD = 14
ATR_PERIOD = 14


def _array(values: object) -> FloatArray:
    return np.asarray(values, dtype=np.float64)


# ---------------------------------------------------------------------------------------------
# EMA: seeded with the simple mean of the first `period` values, then alpha = 2 / (period + 1).
# ---------------------------------------------------------------------------------------------


def ema(values: object, period: int) -> FloatArray:
    """EMA of `values`; NaN until `period` values have been seen."""
    data = _array(values)
    out = np.full(data.shape, np.nan)
    if period < 1 or data.size < period:
        return out
    out[period - 1] = data[:period].mean()
    for i in range(period, data.size):
        out[i] = ema_step(float(out[i - 1]), float(data[i]), period)
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
    state = rsi_state(data[: period + 1], period)
    if state is None:
        return out
    out[period] = state.value
    for i in range(period + 1, data.size):
        state = rsi_step(state, float(data[i]), period)
        out[i] = state.value
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
    out[period - 1] = ranges[:period].mean()
    for i in range(period, ranges.size):
        out[i] = (out[i - 1] * (period - 1) + ranges[i]) / period
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


def session_vwap(price: object, volume: object, sessions: list[str]) -> FloatArray:
    """VWAP per bar, restarting whenever `sessions` (one session label per bar) changes.

    `price` is each bar's own VWAP where Massive gives it (`vw`), else its typical price.
    """
    p, v = _array(price), _array(volume)
    out = np.full(p.shape, np.nan)
    state: VwapState | None = None
    for i in range(p.size):
        state = vwap_step(state, sessions[i], float(p[i]), float(v[i]))
        value = state.value
        out[i] = np.nan if value is None else value
    return out


def vwap_step(state: VwapState | None, session: str, price: float, volume: float) -> VwapState:
    if state is None or state.session != session:
        return VwapState(session, price * volume, volume)
    return VwapState(session, state.cum_pv + price * volume, state.cum_v + volume)


def typical_price(high: object, low: object, close: object) -> FloatArray:
    return (_array(high) + _array(low) + _array(close)) / 3.0
