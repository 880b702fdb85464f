"""A built-in Massive look-alike on a loopback socket, so the relay runs with no key.

It speaks Massive's protocol (connected → auth → auth_success, subscribe acks, event arrays) over
a real WebSocket, and the relay reaches it through its ordinary upstream link. Prices are a
random walk held close to the simulated market's price path (shared/market/simulated.py), the one
make dev's Massive REST simulator serves bars and chains from, so what streams continues what the
jobs fetched: option quotes priced from a moving underlying, trades, per-second and per-minute
aggregates, and index values.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import gevent
import orjson
from gevent.lock import Semaphore
from gevent.pywsgi import WSGIServer
from geventwebsocket.exceptions import WebSocketError
from geventwebsocket.handler import WebSocketHandler

from shared.market import simulated
from shared.symbols import INDEX_SYMBOLS, SymbolError, parse_occ

log = logging.getLogger("relay.simulator")

TICK_S = 0.25
SECOND_MS = 1000
MINUTE_MS = 60_000
INDEX_WILDCARD = ["I:SPX", "I:NDX", "I:VIX"]
UNDERLYINGS = simulated.UNDERLYINGS
DEFAULT_UNDERLYING = simulated.DEFAULT_UNDERLYING
# Each tick closes this share of the gap to the price path: the walk wanders, never away.
PULL_TO_PATH = 0.2


def next_friday(today: date) -> date:
    return today + timedelta(days=(4 - today.weekday()) % 7 or 7)


def sample_contracts(today: date) -> list[str]:
    """A few SPY contracts near the money, the symbols wildcard subscriptions stream."""
    expiry = next_friday(today)
    return [f"O:SPY{expiry:%y%m%d}{side}{strike * 1000:08d}" for strike in (595, 600, 605) for side in "CP"]


@dataclass(slots=True)
class Bar:
    """An OHLC bar over [start_ms, start_ms + span_ms) with its volume and price x volume."""

    start_ms: int
    span_ms: int
    open: float
    high: float
    low: float
    close: float
    volume: int = 0
    turnover: float = 0.0

    @property
    def end_ms(self) -> int:
        return self.start_ms + self.span_ms

    @property
    def vwap(self) -> float:
        return round(self.turnover / self.volume, 4) if self.volume else self.close

    def add(self, price: float, volume: int) -> None:
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += volume
        self.turnover += price * volume

    def absorb(self, second: Bar) -> None:
        """Fold a second bar that follows everything already in this one."""
        self.high = max(self.high, second.high)
        self.low = min(self.low, second.low)
        self.close = second.close
        self.volume += second.volume
        self.turnover += second.turnover


class BarBook:
    """Per-symbol second bars built from sampled values, and minute bars built from those seconds.

    Bars start on the second and on the minute (epoch time); a bar is complete once a sample falls
    past its end, so a minute bar is exactly the aggregate of the second bars inside it.
    """

    def __init__(self) -> None:
        self._seconds: dict[str, Bar] = {}
        self._minutes: dict[str, Bar] = {}

    def sample(self, symbol: str, price: float, volume: int, now_ms: int) -> tuple[Bar | None, Bar | None]:
        """Record a value at `now_ms`; returns the second bar and the minute bar it completed, if any."""
        second_start = now_ms - now_ms % SECOND_MS
        minute_start = now_ms - now_ms % MINUTE_MS
        done_second = done_minute = None
        current = self._seconds.get(symbol)
        if current is not None and current.start_ms != second_start:
            done_second = self._seconds.pop(symbol)
            minute = self._minutes.get(symbol)
            if minute is None:
                self._minutes[symbol] = Bar(done_second.start_ms - done_second.start_ms % MINUTE_MS, MINUTE_MS,
                                            done_second.open, done_second.high, done_second.low,
                                            done_second.close, done_second.volume, done_second.turnover)
            else:
                minute.absorb(done_second)
        minute = self._minutes.get(symbol)
        if minute is not None and minute.start_ms != minute_start:
            done_minute = self._minutes.pop(symbol)
        current = self._seconds.get(symbol)
        if current is None:
            self._seconds[symbol] = Bar(second_start, SECOND_MS, price, price, price, price, volume, price * volume)
        else:
            current.add(price, volume)
        return done_second, done_minute


class MarketModel:
    """Random-walk prices for underlyings, option contracts and indices (pure given the rng)."""

    def __init__(self, rng: random.Random | None = None, path: Callable[[str], float] | None = None) -> None:
        self.rng = rng or random.Random()
        # `path(root)`: the simulated market's price now; None keeps the plain walk (tests, pure).
        self.path = path
        self.spots: dict[str, float] = {root: path(root) for root in UNDERLYINGS} if path else dict(UNDERLYINGS)
        self.sequence = 0
        self.day_volume: dict[str, int] = {}
        self.day_turnover: dict[str, float] = {}
        self.day_open: dict[str, float] = {}

    def step(self) -> None:
        """Move every underlying one tick."""
        for root, spot in self.spots.items():
            moved = spot * math.exp(self.rng.gauss(0.0, 0.0004))
            if self.path is not None:
                moved += PULL_TO_PATH * (self.path(root) - moved)
            self.spots[root] = moved

    def spot(self, root: str) -> float:
        if root not in self.spots:
            self.spots[root] = self.path(root) if self.path is not None else DEFAULT_UNDERLYING
        return self.spots[root]

    def option_mid(self, symbol: str, today: date) -> float:
        contract = parse_occ(symbol)
        spot = self.spot(contract.underlying)
        strike = float(contract.strike)
        years = max((contract.expiry - today).days, 0.5) / 365.0
        intrinsic = max(0.0, spot - strike) if contract.side == "call" else max(0.0, strike - spot)
        width = 0.2 * spot * math.sqrt(years)
        time_value = 0.4 * width * math.exp(-abs(spot - strike) / max(width, 1e-6))
        return max(0.01, round(intrinsic + time_value, 2))

    def index_level(self, symbol: str) -> float:
        return round(self.spot(symbol.removeprefix("I:")), 2)

    def _seq(self) -> int:
        self.sequence += 1
        return self.sequence

    def quote(self, symbol: str, now_ms: int, today: date) -> dict[str, Any]:
        mid = self.option_mid(symbol, today)
        half = max(0.01, round(mid * 0.01, 2))
        return {"ev": "Q", "sym": symbol, "bx": 302, "ax": 313, "bp": round(max(0.0, mid - half), 2),
                "ap": round(mid + half, 2), "bs": self.rng.randint(1, 200), "as": self.rng.randint(1, 200),
                "t": now_ms, "q": self._seq()}

    def trade(self, symbol: str, now_ms: int, today: date) -> dict[str, Any]:
        size = self.rng.randint(1, 50)
        return {"ev": "T", "sym": symbol, "x": 65, "p": self.option_mid(symbol, today), "s": size,
                "c": [209], "t": now_ms, "q": self._seq()}

    def traded(self, symbol: str, second: Bar) -> None:
        """Count a completed second bar of `symbol` into its day totals (open, volume, VWAP)."""
        self.day_open.setdefault(symbol, second.open)
        self.day_volume[symbol] = self.day_volume.get(symbol, 0) + second.volume
        self.day_turnover[symbol] = self.day_turnover.get(symbol, 0.0) + second.turnover

    def option_aggregate(self, ev: str, symbol: str, bar: Bar) -> dict[str, Any]:
        day_volume = self.day_volume.get(symbol, 0)
        day_vwap = round(self.day_turnover.get(symbol, 0.0) / day_volume, 4) if day_volume else bar.close
        return {"ev": ev, "sym": symbol, "v": bar.volume, "av": day_volume,
                "op": self.day_open.get(symbol, bar.open), "vw": bar.vwap, "o": bar.open, "c": bar.close,
                "h": bar.high, "l": bar.low, "a": day_vwap, "z": max(1, bar.volume // 3),
                "s": bar.start_ms, "e": bar.end_ms}

    def index_value(self, symbol: str, now_ms: int) -> dict[str, Any]:
        return {"ev": "V", "val": self.index_level(symbol), "T": symbol, "t": now_ms}

    def index_aggregate(self, ev: str, symbol: str, bar: Bar) -> dict[str, Any]:
        return {"ev": ev, "sym": symbol, "op": self.day_open.get(symbol, bar.open), "o": bar.open,
                "c": bar.close, "h": bar.high, "l": bar.low, "s": bar.start_ms, "e": bar.end_ms}


def simulated_index(symbol: str) -> bool:
    return symbol.removeprefix("I:") in INDEX_SYMBOLS


def tick_events(
    model: MarketModel, cluster: str, channels: Iterable[str], bars: BarBook, now_ms: int, today: date
) -> list[dict[str, Any]]:
    """The events one tick at `now_ms` produces for the subscribed `channels`.

    Quotes and trades are of the moment; aggregates come from `bars`, which every tick samples,
    so second bars hold the tick values and minute bars the second bars; index values once a second.
    """
    wanted: dict[str, set[str]] = {}
    for channel in channels:
        ev, _, sym = channel.partition(".")
        symbols = (sample_contracts(today) if cluster == "options" else INDEX_WILDCARD) if sym == "*" else [sym]
        for symbol in symbols:
            wanted.setdefault(symbol, set()).add(ev)
    events: list[dict[str, Any]] = []
    for symbol, kinds in wanted.items():
        try:
            if cluster == "options":
                price = model.option_mid(symbol, today)
                volume = model.rng.randint(0, 10)
            elif simulated_index(symbol):
                price, volume = model.index_level(symbol), 0
            else:
                continue
        except SymbolError:
            continue
        done_second, done_minute = bars.sample(symbol, price, volume, now_ms)
        if done_second is not None:
            model.traded(symbol, done_second)
        if cluster == "options":
            if "Q" in kinds:
                events.append(model.quote(symbol, now_ms, today))
            if "T" in kinds and model.rng.random() < 0.3:
                events.append(model.trade(symbol, now_ms, today))
            if "A" in kinds and done_second is not None:
                events.append(model.option_aggregate("A", symbol, done_second))
            if "AM" in kinds and done_minute is not None:
                events.append(model.option_aggregate("AM", symbol, done_minute))
            continue
        if "V" in kinds and done_second is not None:
            events.append(model.index_value(symbol, now_ms))
        if "A" in kinds and done_second is not None:
            events.append(model.index_aggregate("A", symbol, done_second))
        if "AM" in kinds and done_minute is not None:
            events.append(model.index_aggregate("AM", symbol, done_minute))
    return events


def _known_index_channel(name: str) -> bool:
    symbol = name.partition(".")[2]
    return symbol == "*" or simulated_index(symbol)


def _status(status: str, message: str) -> str:
    return orjson.dumps([{"ev": "status", "status": status, "message": message}]).decode()


def _path_now(root: str) -> float:
    """The simulated market's price of `root` now (its last close outside a session)."""
    now_ms = int(time.time() * 1000)
    return simulated.price_at(root, simulated.last_price_ms(now_ms))


class Simulator:
    """The simulated Massive server: `start()` returns its `ws://127.0.0.1:<port>` address."""

    def __init__(self, seed: int | None = None) -> None:
        self.model = MarketModel(random.Random(seed), path=_path_now)
        self._server: WSGIServer | None = None

    def start(self) -> str:
        self._server = WSGIServer(("127.0.0.1", 0), self._app, handler_class=WebSocketHandler, log=None)
        self._server.start()
        gevent.spawn(self._move_market)
        return f"ws://127.0.0.1:{self._server.server_port}"

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(timeout=1)

    def _move_market(self) -> None:
        while True:
            gevent.sleep(TICK_S)
            self.model.step()

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        ws = environ.get("wsgi.websocket")
        cluster = str(environ.get("PATH_INFO", "")).strip("/")
        if ws is None or cluster not in ("options", "indices"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"the simulator serves /options and /indices over WebSocket"]
        with contextlib.suppress(WebSocketError):
            self._serve(ws, cluster)
        return []

    def _serve(self, ws: Any, cluster: str) -> None:
        # Two greenlets write to this socket and gevent-websocket does not serialise frames itself:
        # without the lock an ack could land in the middle of a large event frame.
        writing = Semaphore()

        def send(text: str) -> None:
            with writing:
                ws.send(text)

        send(_status("connected", "Connected Successfully"))
        channels: set[str] = set()
        authenticated = False
        streamer = gevent.spawn(self._stream, send, cluster, channels)
        try:
            while True:
                message = ws.receive()
                if message is None:
                    return
                try:
                    request = orjson.loads(message)
                    action, params = request["action"], str(request.get("params", ""))
                except (orjson.JSONDecodeError, KeyError, TypeError):
                    continue
                if action == "auth":
                    authenticated = True
                    send(_status("auth_success", "authenticated"))
                elif not authenticated:
                    send(_status("auth_required", "authentication required"))
                elif action in ("subscribe", "unsubscribe"):
                    names = [name for name in params.split(",") if name]
                    unknown = [n for n in names if cluster == "indices" and not _known_index_channel(n)]
                    names = [n for n in names if n not in unknown]
                    if action == "subscribe":
                        channels.update(names)
                    else:
                        channels.difference_update(names)
                    verb = "subscribed to" if action == "subscribe" else "unsubscribed to"
                    acks = [{"ev": "status", "status": "success", "message": f"{verb}: {n}"} for n in names]
                    if unknown:
                        acks.append({"ev": "status", "status": "error",
                                     "message": "the simulator has no such index: " + ",".join(unknown)})
                    send(orjson.dumps(acks).decode())
        finally:
            streamer.kill(block=False)

    def _stream(self, send: Callable[[str], None], cluster: str, channels: set[str]) -> None:
        bars = BarBook()
        while True:
            gevent.sleep(TICK_S)
            if not channels:
                continue
            now = time.time()
            events = tick_events(self.model, cluster, sorted(channels), bars, int(now * 1000), date.today())
            if events:
                send(orjson.dumps(events).decode())
