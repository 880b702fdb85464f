"""The Massive REST simulator make dev runs when no MASSIVE_API_KEY is set (python -m shared.local.massive_simulator).

Real HTTP on loopback, in Massive's shapes (docs/reference/massive.md), from the same deterministic
prices the relay's WebSocket simulator streams (shared/market/simulated.py):

    GET /v2/aggs/ticker/{ticker}/range/{multiplier}/{minute|hour|day}/{from}/{to}   bars, `limit` a page, `next_url`
    GET /v3/snapshot/options/{underlying}                                           chain: greeks, IV, OI, `next_url`
    GET /v3/snapshot/options/{underlying}/{contract}                                one contract
    GET /v3/snapshot/indices?ticker.any_of=I:SPX,I:NDX                               index values
    GET /v3/snapshot?ticker.any_of=SPY,I:SPX,O:SPY…                                  stocks, indices and options at once
    GET /v2/snapshot/locale/us/markets/stocks/tickers/{ticker}                      a stock's snapshot
    GET /v1/marketstatus/now                                                        open or closed (XNYS calendar)
    GET /health                                                                     {"ok": true, "simulator": true}

Any key is accepted (`Authorization: Bearer …` or `?apiKey=`); `next_url` stays on this host, as
the client requires. The jobs find it through `MASSIVE_REST_URL` (make dev sets it for its parts;
`python -m functions run` looks for it on DEV_MASSIVE_PORT, 8070 by default).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import threading
import time
from datetime import UTC, date, datetime
from functools import lru_cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import requests

from shared.market import calendar
from shared.market import simulated as market
from shared.symbols import SymbolError, normalize_symbol, parse_occ

log = logging.getLogger(__name__)

DEFAULT_PORT = 8070
PORT_VARIABLE = "DEV_MASSIVE_PORT"
SIMULATOR_KEY = "simulator"
AGGREGATES_LIMIT = 50_000
SNAPSHOT_LIMIT = 250


def _as_ms(value: str, *, end: bool) -> int:
    if value.isdigit():
        return int(value)
    day = date.fromisoformat(value)
    start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    return start + 86_400_000 - 1 if end else start


@lru_cache(maxsize=16)
def _chain_at(root: str, minute_ms: int) -> tuple[float, tuple[market.SimContract, ...]]:
    # One chain a minute: the gamma job reads it 250 contracts a page.
    spot = market.price_at(root, market.last_price_ms(minute_ms))
    return spot, tuple(market.option_chain(root, minute_ms, spot=spot))


class MassiveSimulator:
    """What the server answers, as (status, body); `now_ms` is the clock (tests pin it)."""

    def __init__(self, url: str = "", now_ms: Any = None) -> None:
        self.url = url
        self._now_ms = now_ms or (lambda: int(time.time() * 1000))

    def answer(self, path: str, query: dict[str, str]) -> tuple[int, Any]:
        now_ms = self._now_ms()
        parts = path.strip("/").split("/")
        try:
            if path == "/health":
                return 200, {"ok": True, "simulator": True}
            if path.startswith("/v2/aggs/ticker/") and len(parts) == 9:
                return self._aggregates(parts, query, now_ms)
            if path.startswith("/v3/snapshot/options/") and len(parts) == 4:
                return self._chain(path, parts[3], query, now_ms)
            if path.startswith("/v3/snapshot/options/") and len(parts) == 5:
                return self._contract(parts[3], parts[4], now_ms)
            if path == "/v3/snapshot/indices":
                return self._indices(query, now_ms)
            if path == "/v3/snapshot":
                return self._universal(query, now_ms)
            if path.startswith("/v2/snapshot/locale/us/markets/stocks/tickers/") and len(parts) == 8:
                return self._stock(parts[7], now_ms)
            if path == "/v2/snapshot/locale/us/markets/stocks/tickers":
                return self._stocks(query, now_ms)
            if path == "/v1/marketstatus/now":
                return 200, self._market_status(now_ms)
        except ValueError as error:
            return 400, {"status": "ERROR", "request_id": "sim", "error": str(error)}
        return 404, {"status": "NOT_FOUND", "request_id": "sim", "message": f"the simulator has no route {path}"}

    # ---- endpoints

    def _aggregates(self, parts: list[str], query: dict[str, str], now_ms: int) -> tuple[int, Any]:
        # v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{from}/{to}
        ticker, multiplier, timespan = parts[3], int(parts[5]), parts[6]
        if timespan not in ("minute", "hour", "day"):
            raise ValueError(f"the simulator serves minute, hour and day aggregates, not {timespan}")
        start_ms, end_ms = _as_ms(parts[7], end=False), _as_ms(parts[8], end=True)
        bars = market.aggregate(ticker, multiplier, timespan, start_ms, end_ms, now_ms)
        cursor = int(query.get("cursor", "0"))
        limit = max(1, min(int(query.get("limit", "5000")), AGGREGATES_LIMIT))
        page = bars[cursor : cursor + limit]
        body: dict[str, Any] = {
            "ticker": ticker, "adjusted": True, "queryCount": len(bars), "resultsCount": len(page),
            "request_id": "sim", "status": "OK", "results": [b.as_json() for b in page],
        }  # fmt: skip
        if cursor + limit < len(bars):
            body["next_url"] = f"{self.url}/{'/'.join(parts)}?{urlencode({**query, 'cursor': cursor + limit})}"
        return 200, body

    def _contract_json(self, underlying: str, contract: market.SimContract, spot: float) -> dict[str, Any]:
        spread = max(0.01, round(contract.mid * 0.01, 2))
        at_ns = self._now_ms() * 1_000_000
        return {
            "break_even_price": round(contract.strike + (1 if contract.kind == "call" else -1) * contract.mid, 2),
            "day": {"close": contract.mid, "open": contract.mid, "high": contract.mid, "low": contract.mid,
                    "volume": contract.open_interest // 10, "vwap": contract.mid},
            "details": {
                "contract_type": contract.kind,
                "exercise_style": "european" if underlying.startswith("I:") else "american",
                "expiration_date": contract.expiration.isoformat(),
                "shares_per_contract": 100,
                "strike_price": contract.strike,
                "ticker": contract.ticker,
            },
            "greeks": {"delta": contract.delta, "gamma": round(contract.gamma, 8), "theta": contract.theta,
                       "vega": contract.vega},
            "implied_volatility": contract.iv,
            "open_interest": contract.open_interest,
            "last_quote": {"bid": round(contract.mid - spread, 2), "ask": round(contract.mid + spread, 2),
                           "midpoint": contract.mid, "timeframe": "REAL-TIME"},
            "last_trade": {"price": contract.mid, "size": 1, "sip_timestamp": at_ns, "timeframe": "REAL-TIME"},
            "underlying_asset": {"ticker": underlying, "price": round(spot, 2), "timeframe": "REAL-TIME"},
        }

    def _chain(self, path: str, underlying: str, query: dict[str, str], now_ms: int) -> tuple[int, Any]:
        spot, contracts = _chain_at(underlying.removeprefix("I:"), now_ms - now_ms % market.MINUTE_MS)
        chain = list(contracts)
        if "contract_type" in query:
            chain = [c for c in chain if c.kind == query["contract_type"]]
        if "expiration_date" in query:
            chain = [c for c in chain if c.expiration.isoformat() == query["expiration_date"]]
        for name, keep in (("strike_price.gte", float.__ge__), ("strike_price.lte", float.__le__)):
            if name in query:
                chain = [c for c in chain if keep(c.strike, float(query[name]))]
        cursor = int(query.get("cursor", "0"))
        limit = max(1, min(int(query.get("limit", "10")), SNAPSHOT_LIMIT))
        results = [self._contract_json(underlying, c, spot) for c in chain[cursor : cursor + limit]]
        body: dict[str, Any] = {"status": "OK", "request_id": "sim", "results": results}
        if cursor + limit < len(chain):
            body["next_url"] = f"{self.url}{path}?{urlencode({**query, 'cursor': cursor + limit})}"
        return 200, body

    def _contract(self, underlying: str, ticker: str, now_ms: int) -> tuple[int, Any]:
        spot, contracts = _chain_at(underlying.removeprefix("I:"), now_ms - now_ms % market.MINUTE_MS)
        for contract in contracts:
            if contract.ticker == ticker:
                found = self._contract_json(underlying, contract, spot)
                return 200, {"status": "OK", "request_id": "sim", "results": found}
        missing = f"no contract {ticker} in the simulated chain"
        return 404, {"status": "NOT_FOUND", "request_id": "sim", "message": missing}

    def _universal(self, query: dict[str, str], now_ms: int) -> tuple[int, Any]:
        # Massive's snapshot of any tickers at once: each result typed, an unknown one an error in place.
        tickers = [t for t in query.get("ticker.any_of", "").split(",") if t]
        if len(tickers) > SNAPSHOT_LIMIT:
            raise ValueError(f"at most {SNAPSHOT_LIMIT} tickers in ticker.any_of")
        status = self._market_status(now_ms)["market"]
        results: list[dict[str, Any]] = []
        for ticker in tickers:
            found = self._universal_one(ticker, now_ms)
            if found is None:
                results.append({"ticker": ticker, "error": "NOT_FOUND", "message": "Ticker not found."})
            else:
                results.append({"ticker": ticker, "market_status": status, "timeframe": "REAL-TIME",
                                "last_updated": now_ms * 1_000_000, **found})
        return 200, {"status": "OK", "request_id": "sim", "results": results}

    def _universal_one(self, ticker: str, now_ms: int) -> dict[str, Any] | None:
        if ticker.startswith("O:"):
            try:
                root = parse_occ(ticker).underlying
                underlying = normalize_symbol(root)
            except SymbolError:
                return None
            status, body = self._contract(underlying, ticker, now_ms)
            return {"type": "options", "name": ticker, **body["results"]} if status == 200 else None
        if ticker.startswith("I:"):
            if ticker.removeprefix("I:") not in market.UNDERLYINGS:
                return None
            session = self._session(ticker, now_ms)
            return {"type": "indices", "name": ticker.removeprefix("I:"), "value": session["close"], "session": session}
        session = self._session(ticker, now_ms)
        close = session["close"]
        spread = max(0.01, round(close * 0.0001, 2))
        return {
            "type": "stocks", "name": ticker, "session": session,
            "last_trade": {"price": close, "size": 100, "sip_timestamp": now_ms * 1_000_000, "timeframe": "REAL-TIME"},
            "last_quote": {"bid": round(close - spread, 2), "ask": round(close + spread, 2), "midpoint": close,
                           "timeframe": "REAL-TIME"},
        }  # fmt: skip

    def _session(self, ticker: str, now_ms: int) -> dict[str, float]:
        at_ms = market.last_price_ms(now_ms)
        day = datetime.fromtimestamp(at_ms / 1000, tz=UTC).astimezone(calendar.NEW_YORK).date()
        day = calendar.session_on_or_before(day)
        bounds = calendar.session_bounds(day)
        assert bounds is not None
        opened = int(bounds[0].timestamp() * 1000)
        bars = market.aggregate(ticker, 1, "minute", opened, at_ms, now_ms) or [
            market.MinuteBar(opened, *(market.price_at(ticker, opened),) * 4, 0, 0, 0)
        ]
        previous = calendar.session_bounds(calendar.previous_session(day))
        assert previous is not None
        previous_close = market.price_at(ticker, int(previous[1].timestamp() * 1000))
        close = market.price_at(ticker, at_ms)
        return {
            "open": bars[0].o, "high": max(b.h for b in bars), "low": min(b.l for b in bars), "close": round(close, 4),
            "volume": sum(b.v for b in bars), "previous_close": round(previous_close, 4),
            "change": round(close - previous_close, 4), "change_percent": round(100 * (close / previous_close - 1), 4),
        }  # fmt: skip

    def _indices(self, query: dict[str, str], now_ms: int) -> tuple[int, Any]:
        tickers = [t for t in query.get("ticker.any_of", "").split(",") if t]
        status = self._market_status(now_ms)["market"]
        results: list[dict[str, Any]] = []
        for ticker in tickers:
            if ticker.removeprefix("I:") not in market.UNDERLYINGS or not ticker.startswith("I:"):
                results.append({"ticker": ticker, "error": "NOT_FOUND", "message": "Ticker not found."})
                continue
            session = self._session(ticker, now_ms)
            results.append({"ticker": ticker, "name": ticker.removeprefix("I:"), "type": "indices",
                            "value": session["close"], "market_status": status, "last_updated": now_ms * 1_000_000,
                            "timeframe": "REAL-TIME", "session": session})
        return 200, {"status": "OK", "request_id": "sim", "results": results}

    def _stocks(self, query: dict[str, str], now_ms: int) -> tuple[int, Any]:
        # Massive's snapshot of many stocks; the simulator prices any ticker (an unknown one starts at 100).
        tickers = [t for t in query.get("tickers", "").split(",") if t]
        return 200, {"status": "OK", "request_id": "sim",
                     "tickers": [self._stock(ticker, now_ms)[1]["ticker"] for ticker in tickers]}

    def _stock(self, ticker: str, now_ms: int) -> tuple[int, Any]:
        session = self._session(ticker, now_ms)
        day = {"o": session["open"], "h": session["high"], "l": session["low"], "c": session["close"],
               "v": session["volume"], "vw": session["close"]}
        return 200, {"status": "OK", "request_id": "sim", "ticker": {
            "ticker": ticker, "day": day, "lastTrade": {"p": session["close"], "t": now_ms * 1_000_000},
            "prevDay": {"c": session["previous_close"]}, "todaysChange": session["change"],
            "todaysChangePerc": session["change_percent"], "updated": now_ms * 1_000_000,
        }}  # fmt: skip

    def _market_status(self, now_ms: int) -> dict[str, Any]:
        now = datetime.fromtimestamp(now_ms / 1000, tz=UTC)
        state = "open" if calendar.is_open(now) else "closed"
        return {"market": state, "serverTime": now.isoformat(), "earlyHours": False, "afterHours": False,
                "exchanges": {"nyse": state, "nasdaq": state}, "simulator": True}


class _Handler(BaseHTTPRequestHandler):
    simulator: MassiveSimulator

    def do_GET(self) -> None:
        split = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(split.query).items() if k != "apiKey"}
        status, body = self.simulator.answer(split.path, query)
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, format: str, *args: Any) -> None:
        pass  # one line per bar page would drown the terminal


class MassiveSimulatorServer:
    """The simulator on `host:port` (0: a free port) in a thread; `with` stops it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, now_ms: Any = None) -> None:
        self.simulator = MassiveSimulator(now_ms=now_ms)
        handler = type("Handler", (_Handler,), {"simulator": self.simulator})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.simulator.url = f"http://{host}:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.1,), name="massive-sim", daemon=True)

    @property
    def url(self) -> str:
        return self.simulator.url

    def __enter__(self) -> MassiveSimulatorServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


def dev_url(environ: dict[str, str] | None = None) -> str:
    """Where make dev runs the simulator: http://127.0.0.1:DEV_MASSIVE_PORT (8070)."""
    environ = dict(os.environ) if environ is None else environ
    port = environ.get(PORT_VARIABLE, "").strip() or str(DEFAULT_PORT)
    return f"http://127.0.0.1:{port}"


def answers(url: str) -> bool:
    """True when a Massive simulator answers at `url`."""
    try:
        response = requests.get(f"{url.rstrip('/')}/health", timeout=1)
        return response.status_code == 200 and response.json().get("simulator") is True
    except (requests.RequestException, ValueError):
        return False


def use_running_simulator() -> str | None:
    """Point this process's Massive REST client at make dev's simulator when no key is set.

    Returns None when there is a key, or a simulator to use (MASSIVE_REST_URL is then set in this
    process); otherwise the one line that says what to do.
    """
    from shared.config import get_settings

    settings = get_settings()
    if settings.massive_api_key is not None:
        return None
    configured = os.environ.get("MASSIVE_REST_URL", "").strip()
    url = configured if configured and urlsplit(configured).hostname in ("127.0.0.1", "localhost") else dev_url()
    if not answers(url):
        return (f"MASSIVE_API_KEY is not set and no Massive simulator answers at {url}: start `make dev`"
                " (it runs one) or set MASSIVE_API_KEY in .env")
    os.environ["MASSIVE_REST_URL"] = url
    get_settings.cache_clear()
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.local.massive_simulator", description="Massive, simulated")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)-7s %(name)s: %(message)s")
    server = MassiveSimulatorServer(args.host, args.port)
    log.info("massive REST simulator listening on %s", server.url)
    try:
        server.server.serve_forever(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        server.server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
