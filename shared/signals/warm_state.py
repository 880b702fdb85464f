"""The indicators' warm-up state of one symbol and timeframe: what a scan needs to start warm.

Pure: bars in, a JSON-able dict out. The weekend pre-warm stores it in `indicator_state`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

import numpy as np

from shared.market import calendar
from shared.signals.indicators import (
    ATR_PERIOD,
    EMA_PERIODS,
    RSI_PERIOD,
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
