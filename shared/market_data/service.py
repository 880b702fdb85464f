"""Market data through the cache: expirations, one expiration's chain, one contract, quotes.

Each answer is read from `market_cache` or fetched from Massive once for everyone (`cache.py`), with a
client made for request handlers: no waiting out a 429 (the admin gets a 503 and `Retry-After`
instead), one retry, and timeouts inside the function's deadline.

Lives of the cached answers (measured choice: docs/market-data.md): quotes 1 s and contract
snapshots 2 s (an admin watching a price sees it move each second or two; twenty admins cost one
call per life), expirations a minute (they change once a day).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from shared.market import calendar
from shared.market_data.cache import fetch_many, fetch_through
from shared.market_data.chain import ContractQuote, quote_of, underlying_price
from shared.market_data.expirations import Expiration, listed
from shared.market_data.quotes import Quote, change_percent, session_at
from shared.massive.rest import EntitlementError, MassiveError, MassiveRest, NotFoundError, RateLimitBudget, RetryPolicy
from shared.symbols import normalize_symbol, parse_occ

QUOTE_TTL_S = 1.0
CHAIN_TTL_S = 2.0
CONTRACT_TTL_S = 2.0
EXPIRATIONS_TTL_S = 60.0
# Expirations are read from the calls struck within this band of spot: every listed expiration has
# a strike there, and far fewer contracts are paged than the whole chain's.
EXPIRATION_BAND = 0.02
MIN_BAND = 2.5

_client_lock = threading.Lock()
_clients: dict[str, MassiveRest] = {}


def request_client(deadline_s: float) -> MassiveRest:
    """The process's client for request handlers: no 429 waits, one retry, timeouts within `deadline_s`."""
    from shared.config import get_settings
    from shared.massive.rest import default_client

    with _client_lock:
        key = f"{get_settings().massive_rest_url}|{deadline_s}"
        client = _clients.get(key)
        if client is None:
            client = default_client(
                retry=RetryPolicy(attempts=2, backoff_base_s=0.1, backoff_cap_s=0.2, budget=RateLimitBudget(0)),
                timeout=(min(2.0, deadline_s / 3), deadline_s / 2),
            )
            _clients[key] = client
        return client


def _quote_body(
    price: float, change: float | None, percent: float | None, as_of_ns: int | None
) -> dict[str, Any]:
    """A quote as cached: Massive's percent to a hundredth, or ours from the change when it gives none."""
    return {
        "price": price,
        "change": change,
        "change_percent": round(percent, 2) if percent is not None else change_percent(change, price),
        "as_of_ns": as_of_ns,
    }


@dataclass(frozen=True)
class Chain:
    """One expiration's contracts and the underlying's price, as of when Massive gave them."""

    underlying: str
    expiration: date
    spot: float | None
    contracts: list[ContractQuote]
    as_of: datetime


@dataclass(frozen=True)
class ContractAnswer:
    contract: ContractQuote
    underlying_price: float | None
    as_of: datetime


@dataclass(frozen=True)
class QuoteRefusal:
    """A symbol Massive could not quote: why, in our words."""

    symbol: str
    error: MassiveError


class MarketData:
    """The four reads the routes serve; `client` is made only when the cache misses."""

    def __init__(
        self,
        client: Callable[[], MassiveRest],
        *,
        wait_s: float,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._client = client
        self._wait_s = wait_s
        self._now = now
        # One total deadline for every Massive call of this request (connect, reads, retries).
        self._deadline = time.monotonic() + wait_s

    def today(self) -> date:
        return self._now().astimezone(calendar.NEW_YORK).date()

    # ---------------------------------------------------------------- quotes

    def quotes(self, symbols: Sequence[str]) -> tuple[list[Quote], list[QuoteRefusal]]:
        """Each symbol's quote (stored form: `SPY`, `I:SPX`), in the order asked; refusals beside them."""
        keys = {f"quote:{symbol}": symbol for symbol in symbols}
        answers = fetch_many(list(keys), QUOTE_TTL_S, self._fetch_quotes, wait_s=self._wait_s)
        now = self._now()
        quotes: list[Quote] = []
        refused: list[QuoteRefusal] = []
        for key, symbol in keys.items():
            answer = answers[key]
            if isinstance(answer, MassiveError):
                refused.append(QuoteRefusal(symbol, answer))
                continue
            body = answer.value
            as_of = datetime.fromtimestamp(body["as_of_ns"] / 1e9, UTC) if body.get("as_of_ns") else answer.fetched_at
            quotes.append(
                Quote(
                    symbol=symbol,
                    price=body["price"],
                    change=body["change"],
                    change_percent=body["change_percent"],
                    session=session_at(now),
                    as_of=as_of,
                )
            )
        return quotes, refused

    def _fetch_quotes(self, keys: list[str]) -> dict[str, Any]:
        symbols = [key.removeprefix("quote:") for key in keys]
        indices = [s for s in symbols if s.startswith("I:")]
        stocks = [s for s in symbols if not s.startswith("I:")]
        client = self._client()
        found: dict[str, Any] = {}
        if indices:
            for item in client.index_snapshot(indices, deadline=self._deadline):
                if item.error == "NOT_ENTITLED":
                    found[f"quote:{item.ticker}"] = EntitlementError(f"the Massive plan lacks {item.ticker}")
                    continue
                if item.error or item.value is None:
                    continue
                session = item.session or {}
                found[f"quote:{item.ticker}"] = _quote_body(
                    item.value, session.get("change"), session.get("change_percent"), item.last_updated
                )
        if stocks:
            for stock in client.stock_snapshots(stocks, deadline=self._deadline):
                price = stock.last_price
                if price is None:
                    continue
                found[f"quote:{stock.ticker}"] = _quote_body(
                    price, stock.todaysChange, stock.todaysChangePerc, stock.updated
                )
        return found

    def spot(self, underlying: str) -> float:
        """The underlying's last price or value; NotFoundError when Massive cannot quote it."""
        quotes, refused = self.quotes([underlying])
        if refused:
            raise refused[0].error
        return quotes[0].price

    # ---------------------------------------------------------------- options

    def expirations(self, underlying: str) -> tuple[list[Expiration], datetime]:
        """The listed expirations of `underlying`, nearest first (today's included until it ends)."""

        def fetch() -> list[str]:
            spot = self.spot(underlying)
            half = max(spot * EXPIRATION_BAND, MIN_BAND)
            contracts = self._client().option_chain(
                underlying, deadline=self._deadline, contract_type="call", strike_price__gte=round(spot - half, 2),
                strike_price__lte=round(spot + half, 2),
            )  # fmt: skip
            dates = {c.details.expiration_date for c in contracts if c.details.expiration_date}
            if not dates:
                raise NotFoundError(f"Massive lists no options on {underlying}")
            return sorted(dates)

        cached = fetch_through(f"expirations:{underlying}", EXPIRATIONS_TTL_S, fetch, wait_s=self._wait_s)
        return listed((date.fromisoformat(d) for d in cached.value), self.today()), cached.fetched_at

    def chain(self, underlying: str, expiration: date) -> Chain:
        """Every contract of one expiration, and the underlying's price from the same snapshot."""

        def fetch() -> dict[str, Any]:
            snapshots = self._client().option_chain(
                underlying, deadline=self._deadline, expiration_date=expiration.isoformat()
            )
            rows = [row for row in (quote_of(s, underlying) for s in snapshots) if row is not None]
            if not rows:
                raise NotFoundError(f"Massive lists no {underlying} options expiring {expiration}")
            return {"spot": underlying_price(snapshots), "contracts": [r.model_dump(mode="json") for r in rows]}

        key = f"chain:{underlying}:{expiration.isoformat()}"
        cached = fetch_through(key, CHAIN_TTL_S, fetch, wait_s=self._wait_s)
        spot = cached.value["spot"]
        if spot is None:
            spot = self.spot(underlying)
        contracts = [ContractQuote.model_validate(row) for row in cached.value["contracts"]]
        return Chain(underlying, expiration, spot, contracts, cached.fetched_at)

    def contract(self, occ: str) -> ContractAnswer:
        """One contract's snapshot by its OCC symbol (`O:` optional); SymbolError for a malformed one."""
        terms = parse_occ(occ)
        ticker = terms.symbol
        underlying = normalize_symbol(terms.underlying)

        def fetch() -> dict[str, Any]:
            snapshot = self._client().option_contract(underlying, ticker, deadline=self._deadline)
            row = quote_of(snapshot, underlying)
            if row is None:
                raise NotFoundError(f"Massive's snapshot of {ticker} lacks its terms")
            return {"contract": row.model_dump(mode="json"), "spot": underlying_price([snapshot])}

        cached = fetch_through(f"contract:{ticker}", CONTRACT_TTL_S, fetch, wait_s=self._wait_s)
        contract = ContractQuote.model_validate(cached.value["contract"])
        return ContractAnswer(contract, cached.value["spot"], cached.fetched_at)
