"""A fake Massive REST server on 127.0.0.1, written from the team's reference (docs/reference/massive.md, B).

Real HTTP on loopback. It serves aggregates from bars a test stores (filtered by the `from`/`to`
window, `page_size` per page, the rest behind a `next_url` cursor on its own host), option chain
and index snapshots (`option_contract` and `synthetic_chain` build chains in Massive's shape), and
the market status. Keys come as `Authorization: Bearer` (what the official client sends) or
`?apiKey=`; an unknown key is a 401. On demand it answers with 429s
carrying Massive's body, 5xx, 403 for a path, or slowly; and it records every request it saw.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

RATE_LIMIT_BODY = {
    "status": "ERROR",
    "request_id": "fake-429",
    "error": "You've exceeded the maximum requests per minute, please wait or upgrade your subscription to continue.",
}
NOT_AUTHORIZED_BODY = {
    "status": "NOT_AUTHORIZED",
    "request_id": "fake-403",
    "message": "You are not entitled to this data. Please upgrade your plan at https://massive.com/pricing",
}
_TIMESPAN_MS = {"minute": 60_000, "hour": 3_600_000, "day": 86_400_000}


@dataclass
class Seen:
    """One request the server received."""

    path: str
    query: dict[str, str]
    authorization: str | None


@dataclass
class Fault:
    status: int
    body: Any
    path_prefix: str


@dataclass
class FakeMassiveRest:
    """The server's state; tests change it between (or during) calls."""

    keys: set[str] = field(default_factory=lambda: {"test-key"})
    page_size: int = 5000
    bars: dict[tuple[str, int, str], list[dict[str, Any]]] = field(default_factory=dict)
    chains: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    indices: dict[str, dict[str, Any]] = field(default_factory=dict)
    # Stocks' snapshots (`/v2/snapshot/locale/us/markets/stocks/tickers`), by ticker: `stock_snapshot` builds one.
    stocks: dict[str, dict[str, Any]] = field(default_factory=dict)
    forbidden_prefixes: set[str] = field(default_factory=set)
    delay_s: float = 0.0
    seen: list[Seen] = field(default_factory=list)
    faults: deque[Fault] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    # ---- what tests call

    def add_bars(self, ticker: str, multiplier: int, timespan: str, bars: list[dict[str, Any]]) -> None:
        with self.lock:
            stored = self.bars.setdefault((ticker, multiplier, timespan), [])
            known = {bar["t"] for bar in stored}
            stored.extend(bar for bar in bars if bar["t"] not in known)
            stored.sort(key=lambda bar: bar["t"])

    def fail_next(self, status: int, times: int = 1, *, body: Any = None, path_prefix: str = "/") -> None:
        """The next `times` requests under `path_prefix` get `status` (429 with Massive's body by default)."""
        if body is None:
            body = RATE_LIMIT_BODY if status == 429 else {"status": "ERROR", "error": f"fake {status}"}
        with self.lock:
            self.faults.extend(Fault(status, body, path_prefix) for _ in range(times))

    def requests_to(self, prefix: str) -> list[Seen]:
        with self.lock:
            return [s for s in self.seen if s.path.startswith(prefix)]

    # ---- serving

    def _take_fault(self, path: str) -> Fault | None:
        with self.lock:
            for fault in list(self.faults):
                if path.startswith(fault.path_prefix):
                    self.faults.remove(fault)
                    return fault
        return None

    def answer(self, path: str, query: dict[str, str], authorization: str | None) -> tuple[int, Any]:
        with self.lock:
            self.seen.append(Seen(path, query, authorization))
        if self.delay_s:
            time.sleep(self.delay_s)
        key = (authorization or "").removeprefix("Bearer ") or query.get("apiKey", "")
        if key not in self.keys:
            return 401, {"status": "ERROR", "request_id": "fake-401", "error": "Unknown API Key"}
        fault = self._take_fault(path)
        if fault is not None:
            return fault.status, fault.body
        if any(path.startswith(prefix) for prefix in self.forbidden_prefixes):
            return 403, NOT_AUTHORIZED_BODY
        if path.startswith("/v2/aggs/ticker/"):
            return self._aggregates(path, query)
        if path.startswith("/v3/snapshot/options/") and path.count("/") == 5:
            return self._contract(path)
        if path.startswith("/v3/snapshot/options/"):
            return self._listing(path, query, _filtered(self.chains.get(path.rsplit("/", 1)[1], []), query))
        if path == "/v2/snapshot/locale/us/markets/stocks/tickers":
            wanted = [t for t in query.get("tickers", "").split(",") if t]
            return 200, {"status": "OK", "tickers": [self.stocks[t] for t in wanted if t in self.stocks]}
        if path == "/v3/snapshot/indices":
            tickers = [t for t in query.get("ticker.any_of", "").split(",") if t]
            missing = {"error": "NOT_FOUND", "message": "Ticker not found."}
            results = [self.indices.get(t, {"ticker": t, **missing}) for t in tickers]
            return self._listing(path, query, results)
        if path == "/v1/marketstatus/now":
            return 200, {"market": "open", "serverTime": datetime.now(UTC).isoformat(), "exchanges": {"nyse": "open"}}
        return 404, {"status": "NOT_FOUND", "message": "no such route"}

    def _contract(self, path: str) -> tuple[int, Any]:
        # /v3/snapshot/options/{underlying}/{contract}
        underlying, ticker = path.split("/")[4:6]
        for contract in self.chains.get(underlying, []):
            if contract.get("details", {}).get("ticker") == ticker:
                return 200, {"status": "OK", "request_id": "fake", "results": contract}
        return 404, {"status": "NOT_FOUND", "request_id": "fake", "message": "Contract not found."}

    def _listing(self, path: str, query: dict[str, str], results: list[dict[str, Any]]) -> tuple[int, Any]:
        start = int(query.get("cursor", "0"))
        limit = min(int(query.get("limit", "10")), 250, self.page_size)
        body: dict[str, Any] = {"status": "OK", "request_id": "fake", "results": results[start : start + limit]}
        if start + limit < len(results):
            body["next_url"] = f"{self.url}{path}?{urlencode({**query, 'cursor': start + limit})}"
        return 200, body

    def _aggregates(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        parts = path.split("/")
        # /v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}
        ticker, multiplier, timespan, low, high = parts[4], int(parts[6]), parts[7], parts[8], parts[9]
        start_ms = _as_ms(low, end=False)
        end_ms = _as_ms(high, end=True)
        with self.lock:
            bars = [b for b in self.bars.get((ticker, multiplier, timespan), []) if start_ms <= b["t"] <= end_ms]
        cursor = int(query.get("cursor", "0"))
        limit = min(int(query.get("limit", "5000")), self.page_size)
        body: dict[str, Any] = {
            "ticker": ticker,
            "adjusted": True,
            "queryCount": len(bars),
            "resultsCount": len(bars[cursor : cursor + limit]),
            "request_id": "fake",
            "status": "OK",
            "results": bars[cursor : cursor + limit],
        }
        if cursor + limit < len(bars):
            body["next_url"] = f"{self.url}{path}?{urlencode({**query, 'cursor': cursor + limit})}"
        return 200, body


def _filtered(contracts: list[dict[str, Any]], query: dict[str, str]) -> list[dict[str, Any]]:
    """The chain snapshot's filters as Massive applies them: type, expiration, a strike range."""
    def keep(contract: dict[str, Any]) -> bool:
        details = contract.get("details", {})
        strike = details.get("strike_price")
        checks = (
            ("contract_type", lambda v: details.get("contract_type") == v),
            ("expiration_date", lambda v: details.get("expiration_date") == v),
            ("strike_price.gte", lambda v: isinstance(strike, int | float) and strike >= float(v)),
            ("strike_price.lte", lambda v: isinstance(strike, int | float) and strike <= float(v)),
        )
        return all(test(query[name]) for name, test in checks if name in query)

    return [contract for contract in contracts if keep(contract)]


def stock_snapshot(ticker: str, price: float, change: float, *, updated_ns: int = 0) -> dict[str, Any]:
    """One stock in the shape of Massive's stocks snapshot: the last trade, today's change from the previous close."""
    previous = price - change
    return {
        "ticker": ticker,
        "todaysChange": change,
        "todaysChangePerc": 100 * change / previous,
        "updated": updated_ns,
        "day": {"o": previous, "h": max(price, previous), "l": min(price, previous), "c": price, "v": 1000},
        "lastTrade": {"p": price, "s": 100, "t": updated_ns},
        "prevDay": {"c": previous},
    }


def _as_ms(value: str, *, end: bool) -> int:
    if value.isdigit():
        return int(value)
    day = date.fromisoformat(value)
    start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    return start + 86_400_000 - 1 if end else start


def minute_bars(start_ms: int, count: int, *, step_ms: int = 60_000, price: float = 100.0) -> list[dict[str, Any]]:
    """`count` plausible bars from `start_ms`, `step_ms` apart."""
    bars = []
    for i in range(count):
        o = price + (i % 7) * 0.1
        c = o + 0.05 * ((-1) ** i)
        bars.append(
            {"t": start_ms + i * step_ms, "o": o, "h": max(o, c) + 0.1, "l": min(o, c) - 0.1, "c": c,
             "v": 1000 + i, "vw": (o + c) / 2, "n": 10 + i % 5}
        )
    return bars


def option_contract(
    underlying: str,
    expiration: date,
    kind: str,
    strike: float,
    *,
    spot: float,
    iv: float | None,
    gamma: float | None,
    open_interest: float | None,
    volume: float = 0.0,
) -> dict[str, Any]:
    """One contract of a chain snapshot in Massive's shape; None leaves greeks/IV/OI out, as Massive does."""
    root = underlying.removeprefix("I:")
    ticker = f"O:{root}{expiration:%y%m%d}{kind[0].upper()}{round(strike * 1000):08d}"
    contract: dict[str, Any] = {
        "break_even_price": strike,
        "day": {"close": 1.0, "volume": volume, "vwap": 1.0},
        "details": {
            "contract_type": kind,
            "exercise_style": "european" if underlying.startswith("I:") else "american",
            "expiration_date": expiration.isoformat(),
            "shares_per_contract": 100,
            "strike_price": strike,
            "ticker": ticker,
        },
        "underlying_asset": {"ticker": underlying, "price": spot, "timeframe": "REAL-TIME"},
    }
    if gamma is not None:
        contract["greeks"] = {"delta": 0.5, "gamma": gamma, "theta": -0.1, "vega": 0.2}
    if iv is not None:
        contract["implied_volatility"] = iv
    if open_interest is not None:
        contract["open_interest"] = open_interest
    return contract


def synthetic_chain(underlying: str, spot: float, count: int, *, today: date, seed: int = 11) -> list[dict[str, Any]]:
    """`count` contracts around `spot` over 40 expirations from `today`, gammas per $1 from each IV.

    About 3 % come without greeks and 1 % without open interest, as deep contracts do on Massive.
    """
    import math
    import random
    from datetime import timedelta

    rng = random.Random(seed)
    offsets = [0, 1, 2, 3, 4, 7, 9, 11, 14, 16, 18, 21, 23, 25, 28, 30, 35, 42, 49, 56, 63, 77, 91,
               105, 119, 147, 182, 210, 245, 273, 301, 336, 364, 427, 455, 546, 637, 728, 819, 910]
    step = max(round(spot / 1200), 1)
    contracts = []
    for _ in range(count):
        days = rng.choice(offsets)
        strike = float(round(spot / step) * step + step * rng.randint(-400, 400))
        if strike <= 0:
            strike = float(step)
        iv = 0.12 + 0.25 * abs(math.log(strike / spot)) + rng.uniform(0, 0.05)
        years = max(days, 0.25) / 365.0
        sigma_t = iv * math.sqrt(years)
        d1 = (math.log(spot / strike) + 0.5 * sigma_t**2) / sigma_t
        gamma = math.exp(-0.5 * d1 * d1) / (spot * sigma_t * math.sqrt(2 * math.pi))
        has_greeks = rng.random() >= 0.03
        contracts.append(
            option_contract(
                underlying, today + timedelta(days=days), rng.choice(("call", "put")), strike, spot=spot,
                iv=iv if has_greeks else None, gamma=gamma if has_greeks else None,
                open_interest=None if rng.random() < 0.01 else float(rng.randint(0, 20000)),
                volume=float(rng.randint(0, 5000)),
            )
        )
    return contracts


class _Handler(BaseHTTPRequestHandler):
    fake: FakeMassiveRest

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        status, body = self.fake.answer(split.path, query, self.headers.get("Authorization"))
        # Bytes go out as they are: how a test sends what json.dumps cannot write (`1e999`).
        payload = body if isinstance(body, bytes) else json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FakeMassiveRestServer:
    """Runs a FakeMassiveRest on a free loopback port in a thread; `with` stops it."""

    handler: type[BaseHTTPRequestHandler] = _Handler
    thread_name = "fake-massive-rest"

    def __init__(self, fake: FakeMassiveRest | None = None) -> None:
        self.fake = fake or FakeMassiveRest()
        handler = type("Handler", (self.handler,), {"fake": self.fake})
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.fake.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(
            target=self.server.serve_forever, args=(0.05,), name=self.thread_name, daemon=True
        )

    @property
    def url(self) -> str:
        return self.fake.url

    def __enter__(self) -> FakeMassiveRestServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
