"""The bar timeframes we store, as Massive's aggregate (multiplier, timespan) pairs."""

from __future__ import annotations

from typing import Literal, get_args

Timeframe = Literal["1m", "5m", "15m", "1h", "1d"]
TIMEFRAMES: tuple[Timeframe, ...] = get_args(Timeframe)

# Massive's own aggregates for each: 15m and 1h come aligned to the session from Massive, never
# regrouped from 1m here.
AGGREGATE: dict[Timeframe, tuple[int, str]] = {
    "1m": (1, "minute"),
    "5m": (5, "minute"),
    "15m": (15, "minute"),
    "1h": (1, "hour"),
    "1d": (1, "day"),
}
DURATION_MS: dict[Timeframe, int] = {
    "1m": 60_000,
    "5m": 300_000,
    "15m": 900_000,
    "1h": 3_600_000,
    "1d": 86_400_000,
}
