"""Synthetic bars on real sessions, for the indicator, detector and replay tests."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from shared.gamma.figures import GammaLevels
from shared.market import calendar
from shared.signals.assets import asset_class
from shared.signals.series import Bars, SymbolSeries, series_from_bars

TODAY = date(2026, 11, 24)  # a Tuesday; Thanksgiving is the 26th
MINUTE = 60_000


def open_ms(day: date) -> int:
    bounds = calendar.session_bounds(day)
    assert bounds is not None
    return int(bounds[0].timestamp() * 1000)


def bar(t: int, c: float, *, o: float | None = None, h: float | None = None, lo: float | None = None,
        v: float = 1000.0) -> dict[str, Any]:
    """A bar closing at `c`; by default opening at `c`, half a point either side."""
    return {"t": t, "o": c if o is None else o, "h": c + 0.5 if h is None else h, "l": c - 0.5 if lo is None else lo,
            "c": c, "v": v, "vw": None}


def flat_sessions(
    count: int, *, before: date = TODAY, price: float = 100.0, volume: float = 1000.0
) -> list[dict[str, Any]]:
    """`count` full regular sessions before `before` of flat 1m bars (h - l = 1, volume `volume`)."""
    days = calendar.recent_sessions(count + 1, through=before)[:-1]
    rows: list[dict[str, Any]] = []
    for day in days:
        start = open_ms(day)
        rows.extend(bar(start + k * MINUTE, price, v=volume) for k in range(390))
    return rows


def today_minutes(bars: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Bars given without `t`, placed on TODAY's minutes 0, 1, 2, …"""
    start = open_ms(TODAY)
    return [{**b, "t": start + k * MINUTE} for k, b in enumerate(bars)]


def ramp(
    end_ms: int, step_ms: int, count: int, *, start: float, step: float, half_range: float = 0.05
) -> list[dict[str, Any]]:
    """`count` bars ending at `end_ms` (the last closes then) whose closes rise by `step` each."""
    rows = []
    for k in range(count):
        c = start + step * k
        rows.append(bar(end_ms - (count - k) * step_ms, c, o=c - step / 2, h=c + half_range, lo=c - half_range))
    return rows


def series(
    symbol: str,
    minute_rows: Sequence[dict[str, Any]],
    *,
    five: Sequence[dict[str, Any]] = (),
    fifteen: Sequence[dict[str, Any]] = (),
    daily: Sequence[dict[str, Any]] = (),
    gamma: GammaLevels | None = None,
) -> SymbolSeries:
    frames = {"1m": minute_rows, "5m": five, "15m": fifteen, "1d": daily}
    return series_from_bars(symbol, asset_class(symbol), {k: Bars.from_rows(list(v)) for k, v in frames.items()}, gamma)


def last_view(s: SymbolSeries) -> Any:
    return s.view(len(s.minute.bars) - 1)
