"""The simulated market: one deterministic price for every symbol at every minute, and its option chain.

Pure (no I/O, no clock of its own): a price is a function of the symbol and the minute, so the dev
stack's two simulators agree without talking to each other. The relay's WebSocket simulator
(relay/simulator.py) walks around `price_at(now)`, and the REST simulator (shared/local/
massive_simulator.py) serves bars, chains and snapshots from the same function, for any window in
the past, so the backfill has 90 days of history and what streams continues what was fetched.

Every session is scripted the same way so the scanner has something to find (docs/signals.md):
a quiet opening range, a breakout with volume at 10:30 New York time that trends into 11:15, a
drift back, and a flush below VWAP at 14:00 that snaps back by 14:30.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from shared.market import calendar

MINUTE_MS = 60_000
UNDERLYINGS: dict[str, float] = {
    "SPY": 600.0, "QQQ": 520.0, "IWM": 225.0, "SPX": 6000.0, "NDX": 21000.0, "VIX": 16.0,
    "RUT": 2250.0, "DJI": 44000.0, "AAPL": 230.0, "TSLA": 340.0, "NVDA": 140.0,
}  # fmt: skip
DEFAULT_UNDERLYING = 100.0
# Minutes after the open of each scripted move: (start, end, log-return over it, volume factor).
SCRIPT: tuple[tuple[int, int, float, float], ...] = (
    (60, 75, 0.009, 4.0),     # 10:30-10:45 breakout above the opening range on heavy volume
    (75, 105, 0.004, 1.8),    # trend continuation into 11:15
    (105, 240, -0.006, 0.8),  # the afternoon's drift back
    (270, 285, -0.010, 3.0),  # 14:00-14:15 flush below VWAP
    (285, 300, 0.009, 2.2),   # 14:15-14:30 snap back
)


def base_price(root: str) -> float:
    return UNDERLYINGS.get(root.removeprefix("I:"), DEFAULT_UNDERLYING)


def _unit(*parts: object) -> float:
    """A stable pseudo-random number in [0, 1) for `parts`."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def _script_offset(minute_of_session: float) -> tuple[float, float]:
    """The scripted move's log-return so far at `minute_of_session`, and the volume factor then."""
    total, factor = 0.0, 1.0
    for start, end, move, volume in SCRIPT:
        if minute_of_session >= end:
            total += move
        elif minute_of_session > start:
            total += move * (minute_of_session - start) / (end - start)
            factor = volume
    return total, factor


@lru_cache(maxsize=4096)
def _session_ms(day: date) -> tuple[int, int] | None:
    bounds = calendar.session_bounds(day)
    if bounds is None:
        return None
    return int(bounds[0].timestamp() * 1000), int(bounds[1].timestamp() * 1000)


@lru_cache(maxsize=256)
def _phases(root: str) -> tuple[float, ...]:
    return tuple(2 * math.pi * _unit(root, k) for k in range(4))


def _session_minute(at: datetime) -> float | None:
    """Minutes since that day's open, or None outside a session."""
    bounds = _session_ms(at.astimezone(calendar.NEW_YORK).date())
    at_ms = at.timestamp() * 1000
    if bounds is None or not bounds[0] <= at_ms <= bounds[1]:
        return None
    return (at_ms - bounds[0]) / MINUTE_MS


def price_at(symbol: str, at_ms: int) -> float:
    """The simulated price (or index value) of `symbol` at `at_ms`, continuous in time."""
    root = symbol.removeprefix("I:")
    minutes = at_ms / MINUTE_MS
    phases = _phases(root)
    drift = (
        0.015 * math.sin(2 * math.pi * minutes / (1440 * 9) + phases[0])
        + 0.004 * math.sin(2 * math.pi * minutes / 1440 + phases[1])
        + 0.0015 * math.sin(2 * math.pi * minutes / 37 + phases[2])
        + 0.0006 * math.sin(2 * math.pi * minutes / 7 + phases[3])
    )
    at = datetime.fromtimestamp(at_ms / 1000, tz=UTC)
    minute = _session_minute(at)
    if minute is not None:
        drift += _script_offset(minute)[0]
    # VIX moves against the market, as it does.
    if root == "VIX":
        drift = -4 * drift
    return base_price(root) * math.exp(drift)


@dataclass(frozen=True, slots=True)
class MinuteBar:
    t: int
    o: float
    h: float
    l: float  # noqa: E741 - Massive's field name
    c: float
    v: float
    vw: float
    n: int

    def as_json(self) -> dict[str, float | int]:
        return {"t": self.t, "o": self.o, "h": self.h, "l": self.l, "c": self.c, "v": self.v, "vw": self.vw,
                "n": self.n}


def minute_bar(symbol: str, start_ms: int) -> MinuteBar | None:
    """The 1-minute bar starting at `start_ms` (a minute boundary), or None outside every session."""
    at = datetime.fromtimestamp(start_ms / 1000, tz=UTC)
    minute = _session_minute(at)
    if minute is None or _session_minute(at + timedelta(minutes=1)) is None:
        return None
    root = symbol.removeprefix("I:")
    o, c = price_at(symbol, start_ms), price_at(symbol, start_ms + MINUTE_MS)
    wick = max(o, c) * 0.0004 * (0.3 + _unit(root, start_ms, "w"))
    h, low = max(o, c) + wick * _unit(root, start_ms, "h"), min(o, c) - wick * _unit(root, start_ms, "l")
    # U-shaped volume over the day, heavier in the scripted moves; indices trade no volume.
    u_shape = 1.0 + 1.5 * math.exp(-minute / 25) + 1.0 * math.exp(-(390 - minute) / 25)
    factor = _script_offset(minute + 0.5)[1]
    volume = 0.0 if symbol.startswith("I:") else round(20_000 * u_shape * factor * (0.6 + 0.8 * _unit(root, start_ms)))
    r = lambda x: round(x, 4)  # noqa: E731
    return MinuteBar(start_ms, r(o), r(h), r(low), r(c), volume, r((o + h + low + c) / 4), int(volume // 150))


def aggregate(symbol: str, multiplier: int, timespan: str, start_ms: int, end_ms: int, now_ms: int) -> list[MinuteBar]:
    """Massive's aggregates over [start_ms, end_ms]: only bars complete by `now_ms`, oldest first."""
    first = start_ms - start_ms % MINUTE_MS
    last = min(end_ms, now_ms - MINUTE_MS)
    minutes: list[MinuteBar] = []
    if last < first:
        return minutes
    # Session by session: 90 days of minutes are mostly nights and weekends.
    day = datetime.fromtimestamp(first / 1000, tz=UTC).astimezone(calendar.NEW_YORK).date()
    final = datetime.fromtimestamp(last / 1000, tz=UTC).astimezone(calendar.NEW_YORK).date()
    while day <= final:
        bounds = _session_ms(day)
        if bounds is not None:
            for t in range(max(first, bounds[0]), min(last, bounds[1] - MINUTE_MS) + 1, MINUTE_MS):
                if (bar := minute_bar(symbol, t)) is not None:
                    minutes.append(bar)
        day += timedelta(days=1)
    if timespan == "minute" and multiplier == 1:
        return minutes
    groups: dict[int, list[MinuteBar]] = {}
    for bar in minutes:
        groups.setdefault(_bucket(bar.t, multiplier, timespan), []).append(bar)
    out = []
    for start, bars in groups.items():
        volume = sum(b.v for b in bars)
        vwap = sum(b.vw * b.v for b in bars) / volume if volume else bars[-1].c
        out.append(MinuteBar(start, bars[0].o, max(b.h for b in bars), min(b.l for b in bars), bars[-1].c,
                             volume, round(vwap, 4), sum(b.n for b in bars)))
    return out


def _bucket(t_ms: int, multiplier: int, timespan: str) -> int:
    if timespan == "minute":
        span = multiplier * MINUTE_MS
        return t_ms - t_ms % span
    if timespan == "hour":
        span = multiplier * 60 * MINUTE_MS
        return t_ms - t_ms % span
    # Massive's day bars start at midnight New York time.
    local = datetime.fromtimestamp(t_ms / 1000, tz=UTC).astimezone(calendar.NEW_YORK)
    return int(datetime.combine(local.date(), datetime.min.time(), calendar.NEW_YORK).timestamp() * 1000)


def last_price_ms(now_ms: int) -> int:
    """The instant whose price is 'the current price': now in a session, the last close outside one."""
    now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    if calendar.is_open(now):
        return now_ms
    return int(calendar.last_close_before(now).timestamp() * 1000)


def strike_step(spot: float) -> float:
    for limit, step in ((25, 0.5), (250, 1.0), (1000, 5.0), (10000, 5.0), (30000, 25.0)):
        if spot < limit:
            return step
    return 50.0


def expirations(today: date, *, index: bool) -> list[date]:
    """Dailies for a week (the index and ETF products list them), then Fridays for two months."""
    days = [today + timedelta(days=d) for d in range(0, 8)] if index else []
    fridays = [today + timedelta(days=(4 - today.weekday()) % 7 + 7 * w) for w in range(9)]
    return sorted({d for d in days + fridays if calendar.is_session(d)})


@dataclass(frozen=True, slots=True)
class SimContract:
    ticker: str
    kind: str
    strike: float
    expiration: date
    iv: float
    gamma: float
    delta: float
    open_interest: int
    mid: float
    # Black-Scholes at zero rates, as Massive quotes them: theta per calendar day, vega per vol point.
    theta: float = 0.0
    vega: float = 0.0


def _norm_cdf(x: float) -> float:
    return 0.5 * (1 + math.erf(x / math.sqrt(2)))


def option_chain(underlying: str, now_ms: int, *, spot: float | None = None) -> list[SimContract]:
    """The chain of `underlying` at `now_ms`: strikes within 6 % of spot, Black-Scholes greeks on a smile."""
    root = underlying.removeprefix("I:")
    spot = spot if spot is not None else price_at(root, last_price_ms(now_ms))
    now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
    today = now.astimezone(calendar.NEW_YORK).date()
    step = strike_step(spot)
    low, high = math.ceil(spot * 0.94 / step), math.floor(spot * 1.06 / step)
    index_like = root in {"SPX", "NDX", "SPY", "QQQ", "IWM", "RUT"}
    contracts = []
    for expiry in expirations(today, index=index_like):
        cutoff = calendar.expiration_cutoff(expiry)
        years = max((cutoff - now).total_seconds(), 1800.0) / (365.0 * 86400)
        for k in range(low, high + 1):
            strike = round(k * step, 2)
            moneyness = math.log(strike / spot)
            iv = 0.13 + 0.9 * moneyness * moneyness - 0.08 * moneyness + 0.02 * math.sqrt(years)
            sigma_t = iv * math.sqrt(years)
            d1 = (-moneyness + 0.5 * sigma_t * sigma_t) / sigma_t
            d2 = d1 - sigma_t
            density = math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi)
            gamma = density / (spot * sigma_t)
            vega = spot * density * math.sqrt(years) / 100
            theta = -spot * density * iv / (2 * math.sqrt(years)) / 365
            # Open interest peaks near the money and on round strikes, more on puts below and calls above.
            round_bonus = 3.0 if strike % (step * 10) == 0 else 1.5 if strike % (step * 5) == 0 else 1.0
            for kind in ("call", "put"):
                side = 1.0 if (kind == "call") == (strike >= spot) else 0.5
                weight = round_bonus * side * (0.5 + _unit(root, expiry, strike, kind))
                oi = int(8000 * math.exp(-abs(moneyness) * 25) * weight)
                if kind == "call":
                    delta, mid = _norm_cdf(d1), spot * _norm_cdf(d1) - strike * _norm_cdf(d2)
                else:
                    delta, mid = _norm_cdf(d1) - 1, strike * _norm_cdf(-d2) - spot * _norm_cdf(-d1)
                ticker = f"O:{root}{expiry:%y%m%d}{kind[0].upper()}{round(strike * 1000):08d}"
                contracts.append(SimContract(ticker, kind, strike, expiry, round(iv, 4), gamma, round(delta, 4),
                                             oi, round(max(mid, 0.01), 2), round(theta, 4), round(vega, 4)))
    return contracts
