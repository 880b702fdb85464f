"""A symbol's bars as numpy arrays, and every indicator the detectors read, computed once per scan.

The indicators are causal (a value at bar i depends only on bars up to i), so the live scan
reads the last bar and the replay reads each bar in turn from the same arrays.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import numpy as np
from numpy.typing import NDArray

from shared.gamma.figures import GammaLevels
from shared.market import calendar
from shared.signals import indicators as ind
from shared.signals.warm_state import SavedState, warm_atr, warm_ema

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
DAY_MS = 86_400_000
MINUTE_MS = 60_000
BREAKOUT_BARS = 20


@dataclass(frozen=True)
class Bars:
    """Bars oldest first: start times in epoch ms and OHLCV (vw NaN where Massive gave none)."""

    t: IntArray
    o: FloatArray
    h: FloatArray
    l: FloatArray  # noqa: E741 - Massive's own field name
    c: FloatArray
    v: FloatArray
    vw: FloatArray

    @classmethod
    def from_rows(cls, rows: Sequence[dict[str, Any]]) -> Bars:
        """From stored rows (ts as datetime) or Massive bars as dicts (t in ms)."""
        def times(row: dict[str, Any]) -> int:
            if "ts" in row:
                return int(row["ts"].timestamp() * 1000)
            return int(row["t"])

        def column(name: str) -> FloatArray:
            return np.array([np.nan if r.get(name) is None else r[name] for r in rows], dtype=np.float64)

        return cls(
            np.array([times(r) for r in rows], dtype=np.int64),
            column("o"), column("h"), column("l"), column("c"),
            np.nan_to_num(column("v")), column("vw"),
        )

    @classmethod
    def empty(cls) -> Bars:
        nothing = np.array([], dtype=np.float64)
        return cls(np.array([], dtype=np.int64), nothing, nothing, nothing, nothing, nothing, nothing)

    def __len__(self) -> int:
        return int(self.t.size)

    def select(self, mask: NDArray[np.bool_]) -> Bars:
        return Bars(self.t[mask], self.o[mask], self.h[mask], self.l[mask], self.c[mask], self.v[mask], self.vw[mask])

    def completed_by(self, now_ms: int, duration_ms: int) -> Bars:
        """Only the bars that had closed by `now_ms` (a forming bar is never a trigger)."""
        return self.select(self.t + duration_ms <= now_ms)

    def price(self) -> FloatArray:
        """Each bar's own VWAP where given, else its typical price."""
        return np.where(np.isnan(self.vw), ind.typical_price(self.h, self.l, self.c), self.vw)


@dataclass(frozen=True)
class SessionLayout:
    """Where each bar sits: inside regular hours or not, which session (0 = oldest), which minute."""

    in_hours: NDArray[np.bool_]
    session_index: IntArray
    minute: IntArray
    session_day: list[date]


def session_layout(t: IntArray) -> SessionLayout:
    """Regular-hours sessions of bars starting at `t` (ms); New York's regular hours fall on one UTC date."""
    utc_day = t // DAY_MS
    opens = np.zeros(t.shape, dtype=np.int64)
    closes = np.zeros(t.shape, dtype=np.int64)
    for day_number in np.unique(utc_day):
        day = datetime.fromtimestamp(int(day_number) * 86_400, tz=UTC).date()
        bounds = calendar.session_bounds(day)
        if bounds is None:
            continue
        where = utc_day == day_number
        opens[where] = int(bounds[0].timestamp() * 1000)
        closes[where] = int(bounds[1].timestamp() * 1000)
    in_hours = (opens > 0) & (t >= opens) & (t < closes)
    days_in = utc_day[in_hours]
    unique_days, session_index = np.unique(days_in, return_inverse=True)
    full_index = np.full(t.shape, -1, dtype=np.int64)
    full_index[in_hours] = session_index
    minute = np.where(in_hours, (t - opens) // MINUTE_MS, -1).astype(np.int64)
    session_day = [datetime.fromtimestamp(int(d) * 86_400, tz=UTC).date() for d in unique_days]
    return SessionLayout(in_hours, full_index, minute, session_day)


@dataclass(frozen=True)
class Intraday:
    """The 1-minute series (regular hours only) with every indicator the intraday detectors read."""

    bars: Bars
    session_index: IntArray
    minute: IntArray
    ema9: FloatArray
    ema21: FloatArray
    ema50: FloatArray
    rsi: FloatArray
    atr: FloatArray
    vwap: FloatArray
    vwap_sd: FloatArray
    rvol: FloatArray
    or_high: FloatArray
    or_low: FloatArray
    range_high: FloatArray
    range_low: FloatArray


def intraday(minute_bars: Bars) -> Intraday:
    """Indicators over the regular-hours 1m bars of `minute_bars`."""
    layout = session_layout(minute_bars.t)
    bars = minute_bars.select(layout.in_hours)
    sessions = layout.session_index[layout.in_hours]
    minute = layout.minute[layout.in_hours]
    bands = ind.vwap_bands(bars.price(), bars.v, sessions)
    or_high, or_low = ind.opening_range(bars.h, bars.l, sessions, minute)
    return Intraday(
        bars=bars,
        session_index=sessions,
        minute=minute,
        ema9=ind.ema(bars.c, 9),
        ema21=ind.ema(bars.c, 21),
        ema50=ind.ema(bars.c, 50),
        rsi=ind.rsi(bars.c),
        atr=ind.atr(bars.h, bars.l, bars.c),
        vwap=bands.vwap,
        vwap_sd=bands.sd,
        rvol=ind.relative_volume(bars.v, sessions, minute),
        or_high=or_high,
        or_low=or_low,
        range_high=ind.rolling_max(bars.h, BREAKOUT_BARS),
        range_low=ind.rolling_min(bars.l, BREAKOUT_BARS),
    )


@dataclass(frozen=True)
class Trend:
    """A higher timeframe's closes, EMA 9/21/50 and ATR; `duration_ms` is its bar length."""

    bars: Bars
    duration_ms: int
    ema9: FloatArray
    ema21: FloatArray
    ema50: FloatArray
    atr: FloatArray

    def last_closed(self, now_ms: int) -> int:
        """The index of the last bar closed by `now_ms`, or -1."""
        return int(np.searchsorted(self.bars.t + self.duration_ms, now_ms, side="right")) - 1


def trend(bars: Bars, duration_ms: int, saved: SavedState | None = None) -> Trend:
    """The timeframe's indicators, continued from the pre-warm's `saved` state where it joins the bars."""
    return Trend(
        bars, duration_ms, warm_ema(bars.c, 9, bars.t, saved), warm_ema(bars.c, 21, bars.t, saved),
        warm_ema(bars.c, 50, bars.t, saved), warm_atr(bars.h, bars.l, bars.c, bars.t, saved),
    )


@dataclass(frozen=True)
class SymbolSeries:
    """Everything computed once per symbol per scan."""

    symbol: str
    asset_class: str
    minute: Intraday
    five: Trend
    fifteen: Trend
    daily: Trend
    gamma: GammaLevels | None = None

    def view(self, i: int) -> MarketView:
        """The market as it stood when 1m bar `i` closed."""
        now_ms = int(self.minute.bars.t[i]) + MINUTE_MS
        return MarketView(self, i, now_ms, self.five.last_closed(now_ms), self.fifteen.last_closed(now_ms),
                          self.daily.last_closed(now_ms))


@dataclass(frozen=True)
class MarketView:
    """A symbol at one closed 1m bar `i`, with the higher timeframes' last closed bars aligned to it."""

    series: SymbolSeries
    i: int
    now_ms: int
    i5: int
    i15: int
    iday: int

    @property
    def m(self) -> Intraday:
        return self.series.minute

    @property
    def close(self) -> float:
        return float(self.m.bars.c[self.i])

    @property
    def bar_time_ms(self) -> int:
        return int(self.m.bars.t[self.i])

    def same_session_as_previous(self) -> bool:
        return self.i >= 1 and self.m.session_index[self.i] == self.m.session_index[self.i - 1]


def series_from_bars(
    symbol: str, asset_class: str, by_timeframe: dict[str, Bars], gamma: GammaLevels | None = None,
    saved: Mapping[str, SavedState] | None = None,
) -> SymbolSeries:
    """The symbol's series from its bars per timeframe ('1m', '5m', '15m', '1d'; missing ones empty).

    `saved` (timeframe → pre-warmed state) starts 5m, 15m and 1d warm. Not 1m: its state is over
    every stored 1m bar, extended hours too, while the 1m indicators are over regular hours only.
    """
    def get(tf: str) -> Bars:
        return by_timeframe.get(tf) or Bars.empty()

    states = saved or {}
    return SymbolSeries(
        symbol, asset_class, intraday(get("1m")),
        trend(get("5m"), 5 * MINUTE_MS, states.get("5m")), trend(get("15m"), 15 * MINUTE_MS, states.get("15m")),
        trend(get("1d"), DAY_MS, states.get("1d")), gamma,
    )
