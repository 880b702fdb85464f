"""Starting a timeframe's EMA 9/21/50 and ATR 14 warm from the pre-warm's saved state, when it joins.

The saved state holds those indicators over the whole stored series at its last bar (`last_t`).
When that bar is one of the bars a scan loaded, with the same close, and the state saw at least as
many bars up to it as the scan did, the values from that bar on are the state's continued by the
indicators' own recurrences: what the whole series would have given (to the state's 6 decimals).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pydantic import BaseModel, ConfigDict, Field

from shared.signals import indicators as ind
from shared.signals.indicators import ATR_PERIOD, FloatArray

IntArray = NDArray[np.int64]


class SavedAtr(BaseModel):
    model_config = ConfigDict(defer_build=True, allow_inf_nan=False)

    value: float = Field(ge=0)
    last_close: float


class SavedState(BaseModel):
    """The parts of an `indicator_state` row's state (shared/signals/warmup.py) the scan continues."""

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
