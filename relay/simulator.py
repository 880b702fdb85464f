"""A built-in Massive look-alike on a loopback socket, so the relay runs with no key.

It speaks Massive's protocol (connected → auth → auth_success, subscribe acks, event arrays) over
a real WebSocket, and the relay reaches it through its ordinary upstream link. Prices are a
random walk: option quotes priced from a moving underlying, trades, per-second and per-minute
aggregates, and index values.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
import time
from collections.abc import Callable, Iterable
from datetime import date, timedelta
from typing import Any

import gevent
import orjson
from gevent.lock import Semaphore
from gevent.pywsgi import WSGIServer
from geventwebsocket.exceptions import WebSocketError
from geventwebsocket.handler import WebSocketHandler

from shared.symbols import SymbolError, parse_occ

log = logging.getLogger("relay.simulator")

TICK_S = 0.25
UNDERLYINGS = {"SPY": 600.0, "QQQ": 520.0, "IWM": 225.0, "SPX": 6000.0, "NDX": 21000.0, "VIX": 16.0,
               "RUT": 2250.0, "DJI": 44000.0, "AAPL": 230.0, "TSLA": 340.0, "NVDA": 140.0}
DEFAULT_UNDERLYING = 100.0


def next_friday(today: date) -> date:
    return today + timedelta(days=(4 - today.weekday()) % 7 or 7)


def sample_contracts(today: date) -> list[str]:
    """A few SPY contracts near the money, the symbols wildcard subscriptions stream."""
    expiry = next_friday(today)
    return [f"O:SPY{expiry:%y%m%d}{side}{strike * 1000:08d}" for strike in (595, 600, 605) for side in "CP"]


class MarketModel:
    """Random-walk prices for underlyings, option contracts and indices (pure given the rng)."""

    def __init__(self, rng: random.Random | None = None) -> None:
        self.rng = rng or random.Random()
        self.spots: dict[str, float] = dict(UNDERLYINGS)
        self.sequence = 0
        self.day_volume: dict[str, int] = {}

    def step(self) -> None:
        """Move every underlying one tick."""
        for root, spot in self.spots.items():
            self.spots[root] = spot * math.exp(self.rng.gauss(0.0, 0.0004))

    def spot(self, root: str) -> float:
        return self.spots.setdefault(root, DEFAULT_UNDERLYING)

    def option_mid(self, symbol: str, today: date) -> float:
        contract = parse_occ(symbol)
        spot = self.spot(contract.underlying)
        strike = float(contract.strike)
        years = max((contract.expiry - today).days, 0.5) / 365.0
        intrinsic = max(0.0, spot - strike) if contract.side == "call" else max(0.0, strike - spot)
        width = 0.2 * spot * math.sqrt(years)
        time_value = 0.4 * width * math.exp(-abs(spot - strike) / max(width, 1e-6))
        return max(0.01, round(intrinsic + time_value, 2))

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
        self.day_volume[symbol] = self.day_volume.get(symbol, 0) + size
        return {"ev": "T", "sym": symbol, "x": 65, "p": self.option_mid(symbol, today), "s": size,
                "c": [209], "t": now_ms, "q": self._seq()}

    def option_aggregate(self, ev: str, symbol: str, now_ms: int, today: date, window_ms: int) -> dict[str, Any]:
        price = self.option_mid(symbol, today)
        volume = self.rng.randint(0, 40)
        self.day_volume[symbol] = self.day_volume.get(symbol, 0) + volume
        return {"ev": ev, "sym": symbol, "v": volume, "av": self.day_volume[symbol], "op": price, "vw": price,
                "o": price, "c": price, "h": round(price * 1.01, 2), "l": round(price * 0.99, 2), "a": price,
                "z": max(1, volume // 3), "s": now_ms - window_ms, "e": now_ms}

    def index_value(self, symbol: str, now_ms: int) -> dict[str, Any]:
        return {"ev": "V", "val": round(self.spot(symbol.removeprefix("I:")), 2), "T": symbol, "t": now_ms}

    def index_aggregate(self, ev: str, symbol: str, now_ms: int, window_ms: int) -> dict[str, Any]:
        value = round(self.spot(symbol.removeprefix("I:")), 2)
        return {"ev": ev, "sym": symbol, "op": value, "o": value, "c": value, "h": value, "l": value,
                "s": now_ms - window_ms, "e": now_ms}


def tick_events(
    model: MarketModel, cluster: str, channels: Iterable[str], tick: int, now_ms: int, today: date
) -> list[dict[str, Any]]:
    """The events one tick produces for the subscribed `channels`."""
    per_second = round(1 / TICK_S)
    second_boundary = tick % per_second == 0
    minute_boundary = tick % (60 * per_second) == 0
    events: list[dict[str, Any]] = []
    for channel in channels:
        ev, _, sym = channel.partition(".")
        symbols = (sample_contracts(today) if cluster == "options" else ["I:SPX", "I:NDX", "I:VIX"]) \
            if sym == "*" else [sym]
        for symbol in symbols:
            try:
                if cluster == "options":
                    if ev == "Q":
                        events.append(model.quote(symbol, now_ms, today))
                    elif ev == "T" and model.rng.random() < 0.3:
                        events.append(model.trade(symbol, now_ms, today))
                    elif ev == "A" and second_boundary:
                        events.append(model.option_aggregate("A", symbol, now_ms, today, 1000))
                    elif ev == "AM" and minute_boundary:
                        events.append(model.option_aggregate("AM", symbol, now_ms, today, 60_000))
                elif ev == "V" and second_boundary:
                    events.append(model.index_value(symbol, now_ms))
                elif ev == "A" and second_boundary:
                    events.append(model.index_aggregate("A", symbol, now_ms, 1000))
                elif ev == "AM" and minute_boundary:
                    events.append(model.index_aggregate("AM", symbol, now_ms, 60_000))
            except SymbolError:
                continue
    return events


def _status(status: str, message: str) -> str:
    return orjson.dumps([{"ev": "status", "status": status, "message": message}]).decode()


class Simulator:
    """The simulated Massive server: `start()` returns its `ws://127.0.0.1:<port>` address."""

    def __init__(self, seed: int | None = None) -> None:
        self.model = MarketModel(random.Random(seed))
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
                    if action == "subscribe":
                        channels.update(names)
                    else:
                        channels.difference_update(names)
                    verb = "subscribed to" if action == "subscribe" else "unsubscribed to"
                    acks = [{"ev": "status", "status": "success", "message": f"{verb}: {n}"} for n in names]
                    send(orjson.dumps(acks).decode())
        finally:
            streamer.kill(block=False)

    def _stream(self, send: Callable[[str], None], cluster: str, channels: set[str]) -> None:
        tick = 0
        while True:
            gevent.sleep(TICK_S)
            tick += 1
            if not channels:
                continue
            now = time.time()
            events = tick_events(self.model, cluster, sorted(channels), tick, int(now * 1000), date.today())
            if events:
                send(orjson.dumps(events).decode())
