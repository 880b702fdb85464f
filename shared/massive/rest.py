"""Massive's REST API through one small `requests` session: every page, bounded retries, clear errors.

Why not the official `massive` client: its urllib3 retry gives up on a 429 within a second
(3 tries, 0.1 s backoff) while Massive's limit takes minutes to clear, it cannot be told to
spend a budget, and its auto-pagination hides how many calls a list costs. Here a 429 waits
within a per-process budget, 5xx and network errors retry with jittered backoff, 401/403 fail
at once naming what the key is not entitled to, and every list follows `next_url` to its end.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
from pydantic import ValidationError

from shared.logs import register_secret
from shared.massive.errors import (
    EntitlementError,
    MassiveError,
    NotConfigured,
    NotFoundError,
    RateLimitedError,
    UnavailableError,
    UpstreamTimeout,
)
from shared.massive.models import (
    AggregatesPage,
    Bar,
    ContractSnapshotAnswer,
    IndexSnapshot,
    IndexSnapshotPage,
    MarketStatus,
    OptionChainPage,
    OptionSnapshot,
    Page,
    RowT,
    StockSnapshot,
    StockSnapshotsAnswer,
    bar_check,
    screen,
)
from shared.symbols import SymbolError, normalize_symbol

log = logging.getLogger(__name__)

PageT = TypeVar("PageT", bound=Page)
CONNECT_TIMEOUT_S = 3.05
READ_TIMEOUT_S = 20.0
# A list longer than this is a server loop, not data.
MAX_PAGES = 5000
SNAPSHOT_PAGE_LIMIT = 250
AGGREGATES_LIMIT = 50_000
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")
# The grid a bar's start must sit on. Minute bars of any multiplier start on it (5 and 15 divide
# the 09:30 open too); an hour or a day bar may start at the session's open or New York's
# midnight, so for those only the whole minute is asserted: no real bar is refused for its grid.
_MINUTE_MS = 60_000
_HOUR_MS = 3_600_000
# From a date's UTC midnight to the last instant of that date in New York (UTC-5 in winter).
_NEW_YORK_DAY_END_MS = (24 + 5) * _HOUR_MS - 1


def massive_ticker(symbol: str, *, index: bool = False) -> str:
    """Massive's ticker for a symbol: indices get their `I:` prefix here (`SPX` → `I:SPX`), and only here.

    Option tickers (`O:…`) pass through unchanged; `index=True` prefixes any name (`I:COMP`).
    """
    text = symbol.strip().upper()
    if text.startswith("O:"):
        return text
    if index and not text.startswith("I:") and text.isalnum():
        return f"I:{text}"
    try:
        return normalize_symbol(text)
    except SymbolError as error:
        raise MassiveError(str(error)) from None


class RateLimitBudget:
    """Seconds this process may spend waiting out 429s per `window_s`, shared by every client in it.

    It refills each window: a Lambda container or the dev server lives for hours, and one bad
    quarter of an hour must not fail every later run at once.
    """

    def __init__(
        self, seconds: float, *, window_s: float = 900.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self.window_s = window_s
        self.total_s = seconds
        self.remaining_s = seconds
        self._window_started = clock()

    def take(self, seconds: float) -> bool:
        """Reserve `seconds` of waiting; False when this window's budget cannot cover it."""
        with self._lock:
            if self._clock() - self._window_started >= self.window_s:
                self._window_started = self._clock()
                self.remaining_s = self.total_s
            if seconds > self.remaining_s:
                return False
            self.remaining_s -= seconds
            return True


PROCESS_BUDGET = RateLimitBudget(180.0)


@dataclass
class RetryPolicy:
    """How hard to try: attempts for 5xx/network errors, and the backoff of each kind."""

    attempts: int = 4
    backoff_base_s: float = 0.5
    backoff_cap_s: float = 8.0
    rate_limit_base_s: float = 2.0
    rate_limit_cap_s: float = 30.0
    budget: RateLimitBudget = field(default_factory=lambda: PROCESS_BUDGET)


def _message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or body.get("status") or "")[:200]
    return ""


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "")
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


class MassiveRest:
    """A Massive REST client; thread-safe as `requests.Session` is for simple GETs."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        retry: RetryPolicy | None = None,
        timeout: tuple[float, float] = (CONNECT_TIMEOUT_S, READ_TIMEOUT_S),
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        register_secret(api_key)
        self.base_url = base_url.rstrip("/")
        self._origin = urlsplit(self.base_url)[:2]
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._sleep = sleep
        self._rng = rng or random.Random()
        self.session = session or requests.Session()
        # A header, not `?apiKey=`: URLs get logged, headers do not.
        self.session.headers.update({"Authorization": f"Bearer {api_key}", "Accept-Encoding": "gzip"})
        self.calls = 0
        # Rows refused at the edge (impossible values) over this client's life: the jobs report it.
        self.refused = 0

    def close(self) -> None:
        self.session.close()

    # ------------------------------------------------------------------ the endpoints

    def aggregates(
        self,
        symbol: str,
        multiplier: int,
        timespan: str,
        start: date | int,
        end: date | int,
        *,
        adjusted: bool = True,
    ) -> list[Bar]:
        """Every bar of `symbol` from `start` to `end` (dates, or epoch ms), oldest first, all pages."""
        ticker = massive_ticker(symbol)
        path = f"/v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{_bound(start)}/{_bound(end)}"
        params = {"adjusted": str(adjusted).lower(), "sort": "asc", "limit": AGGREGATES_LIMIT}
        what = f"{multiplier} {timespan} aggregates of {ticker}"
        grid_ms = _MINUTE_MS * multiplier if timespan == "minute" else _MINUTE_MS
        end_ms = _epoch_ms(end, end_of_day=True)
        check = bar_check(grid_ms, end_ms)
        return [
            bar
            for page in self._pages(path, params, AggregatesPage, what)
            for bar in self._screen(page.results, Bar, what, check)
        ]

    def option_chain(self, underlying: str, **filters: str | float) -> list[OptionSnapshot]:
        """Every contract of `underlying`'s chain snapshot (Massive's filters as keyword arguments)."""
        ticker = massive_ticker(underlying)
        params: dict[str, Any] = {"limit": SNAPSHOT_PAGE_LIMIT, **{k.replace("__", "."): v for k, v in filters.items()}}
        what = f"the option chain snapshot of {ticker}"
        pages = self._pages(f"/v3/snapshot/options/{ticker}", params, OptionChainPage, what)
        return [contract for page in pages for contract in self._screen(page.results, OptionSnapshot, what)]

    def index_snapshot(self, indices: list[str]) -> list[IndexSnapshot]:
        """Snapshots of up to 250 indices; a per-ticker NOT_ENTITLED arrives as an entry with `error`."""
        tickers = [massive_ticker(name, index=True) for name in indices]
        params = {"ticker.any_of": ",".join(tickers), "limit": SNAPSHOT_PAGE_LIMIT}
        what = f"index snapshots of {', '.join(tickers)}"
        pages = self._pages("/v3/snapshot/indices", params, IndexSnapshotPage, what)
        return [item for page in pages for item in self._screen(page.results, IndexSnapshot, what)]

    def option_contract(self, underlying: str, contract: str) -> OptionSnapshot:
        """One contract's snapshot (`O:SPY251219C00650000`); NotFoundError when Massive has no such contract."""
        ticker = massive_ticker(underlying)
        what = f"the snapshot of {contract}"
        answer = self._get_model(
            f"{self.base_url}/v3/snapshot/options/{ticker}/{contract}", None, ContractSnapshotAnswer, what
        )
        (found,) = self._screen([answer.results], OptionSnapshot, what) or (None,)
        if found is None:
            raise MassiveError(f"Massive's snapshot of {contract} is impossible; refused")
        return found

    def stock_snapshots(self, tickers: list[str]) -> list[StockSnapshot]:
        """Today's snapshot of each stock (one call for all); a ticker Massive does not know is absent."""
        what = f"stock snapshots of {', '.join(tickers)}"
        answer = self._get_model(
            f"{self.base_url}/v2/snapshot/locale/us/markets/stocks/tickers",
            {"tickers": ",".join(tickers)},
            StockSnapshotsAnswer,
            what,
        )
        return self._screen(answer.tickers, StockSnapshot, what)

    def market_status(self) -> MarketStatus:
        """Massive's view of the market right now."""
        return self._get_model(f"{self.base_url}/v1/marketstatus/now", None, MarketStatus, "the market status")

    def _screen(
        self, rows: list[Any], model: type[RowT], what: str, check: Callable[[RowT], str | None] | None = None
    ) -> list[RowT]:
        """A page's possible rows; the impossible ones are counted on the client and logged, never returned."""
        screened = screen(rows, model, check=check)
        if screened.refused:
            self.refused += screened.refused
            log.warning(
                "massive rows refused",
                extra={
                    "what": what,
                    "refused": screened.refused,
                    "kept": len(screened.rows),
                    "reasons": screened.reasons,
                },
            )
        return screened.rows

    # ------------------------------------------------------------------ transport

    def _pages(self, path: str, params: dict[str, Any], model: type[PageT], what: str) -> Iterator[PageT]:
        url: str | None = f"{self.base_url}{path}"
        query: dict[str, Any] | None = params
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            assert url is not None
            page = self._get_model(url, query, model, what)
            yield page
            if not page.next_url:
                return
            url, query = self._follow(page.next_url, what), None
            if url in seen:
                raise MassiveError(f"Massive repeated a next_url while listing {what}")
            seen.add(url)
        raise MassiveError(f"listing {what} took more than {MAX_PAGES} pages")

    def _follow(self, next_url: str, what: str) -> str:
        # The cursor must stay on Massive's host: our key is never sent anywhere else.
        if urlsplit(next_url)[:2] != self._origin:
            raise MassiveError(f"Massive's next_url for {what} points at another host; not followed")
        return next_url

    def _get_model(self, url: str, params: dict[str, Any] | None, model: type[Any], what: str) -> Any:
        body = self._get_json(url, params, what)
        try:
            return model.model_validate(body)
        except ValidationError as error:
            problem = error.errors()[0]["msg"]
            raise MassiveError(f"Massive's answer for {what} is not what we expect: {problem}") from None

    def _get_json(self, url: str, params: dict[str, Any] | None, what: str) -> Any:
        failures = 0
        rate_limited = 0
        path = urlsplit(url).path
        while True:
            self.calls += 1
            try:
                response = self.session.get(url, params=params, timeout=self.timeout)
            except (requests.ConnectionError, requests.Timeout) as error:
                failures += 1
                if failures >= self.retry.attempts:
                    kind = UpstreamTimeout if isinstance(error, requests.Timeout) else UnavailableError
                    raise kind(
                        f"Massive could not be reached for {what} after {failures} tries ({type(error).__name__})"
                    ) from None
                self._backoff(failures, path, f"network: {type(error).__name__}")
                continue
            status = response.status_code
            if status == 200:
                try:
                    return response.json()
                except ValueError:
                    raise MassiveError(f"Massive's answer for {what} is not JSON") from None
            if status in (401, 403):
                raise EntitlementError(
                    f"the Massive key lacks entitlement for {what} (HTTP {status}: {_message(response)})"
                )
            if status == 429:
                delay = _retry_after(response)
                if delay is None:
                    delay = min(self.retry.rate_limit_cap_s, self.retry.rate_limit_base_s * 2 ** min(rate_limited, 10))
                if not self.retry.budget.take(delay):
                    raise RateLimitedError(
                        f"Massive rate-limited {what} (HTTP 429: {_message(response)}); this process's"
                        f" {self.retry.budget.total_s:.0f} s budget for waiting is spent"
                    )
                rate_limited += 1
                log.warning("massive rate limited; waiting", extra={"path": path, "wait_s": round(delay, 2)})
                self._sleep(delay)
                continue
            if status >= 500:
                failures += 1
                if failures >= self.retry.attempts:
                    raise UnavailableError(f"Massive answered HTTP {status} for {what} {failures} times in a row")
                self._backoff(failures, path, f"HTTP {status}")
                continue
            if status == 404:
                raise NotFoundError(f"Massive has no {what} (HTTP 404: {_message(response)})")
            raise MassiveError(f"Massive refused {what} (HTTP {status}: {_message(response)})")

    def _backoff(self, failures: int, path: str, reason: str) -> None:
        ceiling = min(self.retry.backoff_cap_s, self.retry.backoff_base_s * 2 ** (failures - 1))
        delay = self._rng.uniform(0, ceiling)  # full jitter: simultaneous retries spread out
        log.warning("massive call failed; retrying", extra={"path": path, "reason": reason, "wait_s": round(delay, 2)})
        self._sleep(delay)


def _bound(value: date | int) -> str:
    return value.isoformat() if isinstance(value, date) else str(int(value))


def _epoch_ms(value: date | int, *, end_of_day: bool = False) -> int:
    """Epoch milliseconds of a bound; a date as the end covers its whole day in New York (UTC-4/-5)."""
    if isinstance(value, date):
        midnight = int(datetime(value.year, value.month, value.day, tzinfo=UTC).timestamp() * 1000)
        return midnight + (_NEW_YORK_DAY_END_MS if end_of_day else 0)
    return int(value)


def default_client(
    *, retry: RetryPolicy | None = None, timeout: tuple[float, float] | None = None
) -> MassiveRest:
    """The client for this process's settings; MassiveError when no MASSIVE_API_KEY is set."""
    from shared.config import get_settings

    settings = get_settings()
    rest_url = str(settings.massive_rest_url)
    if settings.massive_api_key is not None:
        api_key = settings.massive_api_key.get_secret_value()
    elif urlsplit(rest_url).hostname in LOOPBACK_HOSTS:
        # make dev's simulator (shared/local/massive_simulator.py) takes any key; nothing leaves the machine.
        api_key = "simulator"
    else:
        raise NotConfigured("MASSIVE_API_KEY is not set: set it in .env, or run `make dev`, which simulates Massive")
    if PROCESS_BUDGET.total_s != settings.massive_rate_limit_budget_s:
        PROCESS_BUDGET.total_s = PROCESS_BUDGET.remaining_s = settings.massive_rate_limit_budget_s
    return MassiveRest(rest_url, api_key, retry=retry, timeout=timeout or (CONNECT_TIMEOUT_S, READ_TIMEOUT_S))


__all__ = [
    "EntitlementError",
    "MassiveError",
    "MassiveRest",
    "NotFoundError",
    "RateLimitBudget",
    "RateLimitedError",
    "RetryPolicy",
    "UnavailableError",
    "UpstreamTimeout",
    "default_client",
    "massive_ticker",
]
