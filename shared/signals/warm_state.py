"""The indicators' saved state: built by the pre-warm, continued by the scan.

Pure. `warm_state` turns stored bars into the JSON-able state the weekend pre-warm stores in
`indicator_state`: what a scan needs to start warm. `SavedState` reads it back, and `warm_ema` and
`warm_atr` start a timeframe's EMA 9/21/50 and ATR 14 from it when it joins the bars a scan loaded.

The saved state holds those indicators over the whole stored series at its last bar (`last_t`).
When that bar is one of the bars a scan loaded, with the same close, and the state saw at least as
many bars up to it as the scan did, the values from that bar on are the state's continued by the
indicators' own recurrences: what the whole series would have given (to the state's 6 decimals).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from shared.market import calendar
from shared.signals import indicators as ind
from shared.signals.indicators import (
    ATR_PERIOD,
    EMA_PERIODS,
    RSI_PERIOD,
    FloatArray,
    atr,
    ema,
    rsi_state,
    typical_price,
    vwap_step,
)

# Enough history for the slowest indicator (EMA 50) to have forgotten its seed.
WARMUP_BARS = 500


def _finite(value: float) -> float | None:
    return round(float(value), 6) if math.isfinite(value) else None


def _session_of(ts: datetime) -> date | None:
    """The session a bar belongs to when it lies in that session's regular hours."""
    day = ts.astimezone(calendar.NEW_YORK).date()
    bounds = calendar.session_bounds(day)
    if bounds is None or not bounds[0] <= ts < bounds[1]:
        return None
    return day


def warm_state(bars: Sequence[dict[str, Any]], *, daily: bool = False) -> dict[str, Any] | None:
    """The state after `bars` (rows with ts, h, l, c, v, vw; oldest first), or None when there are none.

    Session VWAP counts regular-hours bars only (daily bars are their own session); the state
    also names when the next session opens, where Monday's VWAP anchors.
    """
    if not bars:
        return None
    recent = list(bars)[-WARMUP_BARS:]
    high = np.array([b["h"] for b in recent], dtype=np.float64)
    low = np.array([b["l"] for b in recent], dtype=np.float64)
    close = np.array([b["c"] for b in recent], dtype=np.float64)
    last_ts: datetime = recent[-1]["ts"]
    state: dict[str, Any] = {
        "bars": len(recent),
        "last_t": int(last_ts.timestamp() * 1000),
        "last_close": _finite(close[-1]),
        "ema": {str(p): _finite(ema(close, p)[-1]) for p in EMA_PERIODS},
    }
    rsi = rsi_state(close, RSI_PERIOD)
    state[f"rsi{RSI_PERIOD}"] = (
        None
        if rsi is None
        else {
            "avg_gain": _finite(rsi.avg_gain),
            "avg_loss": _finite(rsi.avg_loss),
            "last_close": _finite(rsi.last_close),
            "value": _finite(rsi.value),
        }
    )
    atr_value = atr(high, low, close, ATR_PERIOD)[-1]
    state[f"atr{ATR_PERIOD}"] = (
        None if not math.isfinite(atr_value) else {"value": _finite(atr_value), "last_close": _finite(close[-1])}
    )
    vwap = None
    for bar in recent:
        ts: datetime = bar["ts"]
        session = ts.astimezone(UTC).date() if daily else _session_of(ts)
        if session is None:
            continue
        price = bar["vw"] if bar.get("vw") is not None else float(typical_price(bar["h"], bar["l"], bar["c"]))
        vwap = vwap_step(vwap, session.isoformat(), float(price), float(bar["v"]))
    state["vwap"] = (
        None
        if vwap is None
        else {
            "session": vwap.session,
            "value": _finite(vwap.value if vwap.value is not None else math.nan),
            "cum_pv": _finite(vwap.cum_pv),
            "cum_v": _finite(vwap.cum_v),
        }
    )
    next_open = calendar.session_bounds(calendar.next_session(last_ts.astimezone(calendar.NEW_YORK).date()))
    assert next_open is not None
    state["next_session_open_t"] = int(next_open[0].timestamp() * 1000)
    return state


IntArray = NDArray[np.int64]


class SavedAtr(BaseModel):
    model_config = ConfigDict(defer_build=True, allow_inf_nan=False)

    value: float = Field(ge=0)
    last_close: float


class SavedState(BaseModel):
    """The parts of a saved state (`warm_state` below, an `indicator_state` row) the scan continues."""

    model_config = ConfigDict(defer_build=True, allow_inf_nan=False, populate_by_name=True)

    bars: int = Field(ge=1)
    last_t: int
    last_close: float
    ema: dict[str, float | None]
    atr: SavedAtr | None = Field(default=None, alias=f"atr{ATR_PERIOD}")

    def join(self, t: IntArray, close: FloatArray) -> int | None:
        """The index of the state's last bar among bars starting at `t`, or None when it does not join.

        Not joining: its bar is not there (a gap, or a state newer than the bars), that bar's close
        has changed since (the state was taken while it formed), or the state saw fewer bars up to
        it than were loaded (the loaded window is then the warmer start).
        """
        k = int(np.searchsorted(t, self.last_t))
        if k >= t.size or int(t[k]) != self.last_t:
            return None
        if round(float(close[k]), 6) != self.last_close or self.bars < k + 1:
            return None
        return k


def _continued(window: FloatArray, inputs: FloatArray, k: int, start: float, decay: float, gain: float) -> FloatArray:
    """`window` with the value at `k` replaced by `start` and the values after it recomputed from it."""
    out = window.copy()
    out[k] = start
    out[k + 1 :] = ind.linear_recurrence(inputs[k + 1 :], decay, gain, start)
    return out


def warm_ema(close: FloatArray, period: int, t: IntArray, saved: SavedState | None) -> FloatArray:
    """EMA `period` of `close` (bars starting at `t`), continued from `saved` where it joins and has one."""
    window = ind.ema(close, period)
    k = saved.join(t, close) if saved is not None else None
    start = saved.ema.get(str(period)) if saved is not None else None
    if k is None or start is None:
        return window
    alpha = 2.0 / (period + 1)
    return _continued(window, close, k, start, 1 - alpha, alpha)


def warm_atr(
    high: FloatArray, low: FloatArray, close: FloatArray, t: IntArray, saved: SavedState | None
) -> FloatArray:
    """ATR 14 of the bars starting at `t`, continued from `saved` where it joins and has one."""
    window = ind.atr(high, low, close, ATR_PERIOD)
    k = saved.join(t, close) if saved is not None else None
    if k is None or saved is None or saved.atr is None:
        return window
    ranges = ind.true_range(high, low, close)
    return _continued(window, ranges, k, saved.atr.value, (ATR_PERIOD - 1) / ATR_PERIOD, 1.0 / ATR_PERIOD)
