"""Massive's REST API through one small `requests` session: every page, bounded retries, clear errors.

Why not the official `massive` client: its urllib3 retry gives up on a 429 within a second
(3 tries, 0.1 s backoff) while Massive's limit takes minutes to clear, it cannot be told to
spend a budget, and its auto-pagination hides how many calls a list costs. Here a 429 waits
within a per-process budget, 5xx and network errors retry with jittered backoff, 401/403 fail
at once naming what the key is not entitled to, and every list follows `next_url` to its end.

Every call is bounded (docs/jobs.md, "A hostile Massive"): a total deadline covers connecting,
every read of the body and every wait; a 429 waits at least the exponential step whatever its
`Retry-After` says, at most RATE_LIMIT_ATTEMPTS times; redirects are not followed; a list stops
at MAX_PAGES pages or its row cap, and a body at MAX_BODY_BYTES, with a clear error.
"""

from __future__ import annotations

import json
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
import urllib3.exceptions
from pydantic import ValidationError

from shared.logs import register_secret
from shared.massive.errors import (
    DeadlineExceeded,
    EntitlementError,
    MassiveError,
    NotConfigured,
    NotFoundError,
    RateLimitedError,
    TooLargeError,
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
# A list longer than this is a server loop, not data (SPX's chain is ~90 pages of 250; a 200k-contract
# chain is 800).
MAX_PAGES = 1000
# Rows one listing may hold: past these it is a hostile or broken server, and memory is the price.
MAX_CHAIN_ROWS = 250_000
MAX_AGGREGATE_ROWS = 200_000  # 90 days of 1m bars with extended hours is ~86,000
MAX_INDEX_ROWS = 1000
# One answer's body; Massive's largest page (50,000 bars) is ~6 MB.
MAX_BODY_BYTES = 64 * 1024 * 1024
# 429s in a row for one call before it fails, whatever the budget still holds.
RATE_LIMIT_ATTEMPTS = 8
_READ_CHUNK = 64 * 1024
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
    rate_limit_attempts: int = RATE_LIMIT_ATTEMPTS
    budget: RateLimitBudget = field(default_factory=lambda: PROCESS_BUDGET)


def _message(raw: bytes) -> str:
    try:
        body = json.loads(raw)
    except ValueError:
        return raw[:200].decode(errors="replace")
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
    """A Massive REST client; thread-safe as `requests.Session` is for simple GETs.

    `deadline` is a `clock()` instant (time.monotonic by default) after which no call of this client
    waits, reads or retries: a job passes its run's end, a request handler its own. Each endpoint
    also takes `deadline=` for one call; the earlier of the two applies.
    """

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
        deadline: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        register_secret(api_key)
        self.base_url = base_url.rstrip("/")
        self._origin = urlsplit(self.base_url)[:2]
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._sleep = sleep
        self.deadline = deadline
        self._clock = clock
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
        deadline: float | None = None,
    ) -> list[Bar]:
        """Every bar of `symbol` from `start` to `end` (dates, or epoch ms), oldest first, all pages."""
        ticker = massive_ticker(symbol)
        path = f"/v2/aggs/ticker/{ticker}/range/{multiplier}/{timespan}/{_bound(start)}/{_bound(end)}"
        params = {"adjusted": str(adjusted).lower(), "sort": "asc", "limit": AGGREGATES_LIMIT}
        what = f"{multiplier} {timespan} aggregates of {ticker}"
        grid_ms = _MINUTE_MS * multiplier if timespan == "minute" else _MINUTE_MS
        end_ms = _epoch_ms(end, end_of_day=True)
        check = bar_check(grid_ms, end_ms)
        pages = self._pages(path, params, AggregatesPage, what, MAX_AGGREGATE_ROWS, deadline)
        return [bar for page in pages for bar in self._screen(page.results, Bar, what, check)]

    def option_chain_pages(
        self, underlying: str, *, deadline: float | None = None, **filters: str | float
    ) -> Iterator[list[OptionSnapshot]]:
        """`underlying`'s chain snapshot one page of contracts at a time, so a caller never holds it whole."""
        ticker = massive_ticker(underlying)
        params: dict[str, Any] = {"limit": SNAPSHOT_PAGE_LIMIT, **{k.replace("__", "."): v for k, v in filters.items()}}
        what = f"the option chain snapshot of {ticker}"
        for page in self._pages(f"/v3/snapshot/options/{ticker}", params, OptionChainPage, what, MAX_CHAIN_ROWS,
                                deadline):
            yield self._screen(page.results, OptionSnapshot, what)

    def option_chain(
        self, underlying: str, *, deadline: float | None = None, **filters: str | float
    ) -> list[OptionSnapshot]:
        """Every contract of `underlying`'s chain snapshot (Massive's filters as keyword arguments)."""
        pages = self.option_chain_pages(underlying, deadline=deadline, **filters)
        return [contract for page in pages for contract in page]

    def index_snapshot(self, indices: list[str], *, deadline: float | None = None) -> list[IndexSnapshot]:
        """Snapshots of up to 250 indices; a per-ticker NOT_ENTITLED arrives as an entry with `error`."""
        tickers = [massive_ticker(name, index=True) for name in indices]
        params = {"ticker.any_of": ",".join(tickers), "limit": SNAPSHOT_PAGE_LIMIT}
        what = f"index snapshots of {', '.join(tickers)}"
        pages = self._pages("/v3/snapshot/indices", params, IndexSnapshotPage, what, MAX_INDEX_ROWS, deadline)
        return [item for page in pages for item in self._screen(page.results, IndexSnapshot, what)]

    def option_contract(self, underlying: str, contract: str, *, deadline: float | None = None) -> OptionSnapshot:
        """One contract's snapshot (`O:SPY251219C00650000`); NotFoundError when Massive has no such contract."""
        ticker = massive_ticker(underlying)
        what = f"the snapshot of {contract}"
        answer = self._get_model(
            f"{self.base_url}/v3/snapshot/options/{ticker}/{contract}", None, ContractSnapshotAnswer, what,
            self._until(deadline),
        )
        (found,) = self._screen([answer.results], OptionSnapshot, what) or (None,)
        if found is None:
            raise MassiveError(f"Massive's snapshot of {contract} is impossible; refused")
        return found

    def stock_snapshots(self, tickers: list[str], *, deadline: float | None = None) -> list[StockSnapshot]:
        """Today's snapshot of each stock (one call for all); a ticker Massive does not know is absent."""
        what = f"stock snapshots of {', '.join(tickers)}"
        answer = self._get_model(
            f"{self.base_url}/v2/snapshot/locale/us/markets/stocks/tickers",
            {"tickers": ",".join(tickers)},
            StockSnapshotsAnswer,
            what,
            self._until(deadline),
        )
        return self._screen(answer.tickers, StockSnapshot, what)

    def market_status(self, *, deadline: float | None = None) -> MarketStatus:
        """Massive's view of the market right now."""
        url = f"{self.base_url}/v1/marketstatus/now"
        return self._get_model(url, None, MarketStatus, "the market status", self._until(deadline))

    def seconds_left(self, deadline: float | None = None) -> float:
        """Seconds before the earlier of this client's deadline and `deadline` (inf without either)."""
        return self._until(deadline) - self._clock()

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

    def _until(self, deadline: float | None) -> float:
        chosen = [d for d in (self.deadline, deadline) if d is not None]
        return min(chosen) if chosen else float("inf")

    def _pages(
        self,
        path: str,
        params: dict[str, Any],
        model: type[PageT],
        what: str,
        max_rows: int,
        deadline: float | None = None,
    ) -> Iterator[PageT]:
        until = self._until(deadline)
        url: str | None = f"{self.base_url}{path}"
        query: dict[str, Any] | None = params
        seen: set[str] = set()
        rows = 0
        for _ in range(MAX_PAGES):
            assert url is not None
            page = self._get_model(url, query, model, what, until)
            rows += len(_results(page))
            if rows > max_rows:
                raise TooLargeError(f"listing {what} passed {max_rows:,} rows; refused as no real answer is that long")
            yield page
            if not page.next_url:
                return
            url, query = self._follow(page.next_url, what), None
            if url in seen:
                raise MassiveError(f"Massive repeated a next_url while listing {what}")
            seen.add(url)
        raise TooLargeError(f"listing {what} took more than {MAX_PAGES} pages; refused as a server loop")

    def _follow(self, next_url: str, what: str) -> str:
        # The cursor must stay on Massive's host: our key is never sent anywhere else.
        if urlsplit(next_url)[:2] != self._origin:
            raise MassiveError(f"Massive's next_url for {what} points at another host; not followed")
        return next_url

    def _get_model(
        self, url: str, params: dict[str, Any] | None, model: type[Any], what: str, until: float = float("inf")
    ) -> Any:
        body = self._get_json(url, params, what, until)
        try:
            return model.model_validate(body)
        except ValidationError as error:
            problem = error.errors()[0]["msg"]
            raise MassiveError(f"Massive's answer for {what} is not what we expect: {problem}") from None

    def _left(self, until: float, what: str) -> float:
        left = until - self._clock()
        if left <= 0:
            raise DeadlineExceeded(f"out of time for {what}: the call's deadline passed before Massive answered")
        return left

    def _get_json(self, url: str, params: dict[str, Any] | None, what: str, until: float = float("inf")) -> Any:
        failures = 0
        rate_limited = 0
        path = urlsplit(url).path
        while True:
            left = self._left(until, what)
            self.calls += 1
            connect_s, read_s = self.timeout
            try:
                # Redirects are not followed: another host's answer is not Massive's data.
                response = self.session.get(
                    url, params=params, timeout=(min(connect_s, left), min(read_s, left)), stream=True,
                    allow_redirects=False,
                )
                with response:
                    status = response.status_code
                    body = self._read_body(response, what, until)
            except (requests.ConnectionError, requests.Timeout) as error:
                failures += 1
                if failures >= self.retry.attempts:
                    kind = UpstreamTimeout if isinstance(error, requests.Timeout) else UnavailableError
                    raise kind(
                        f"Massive could not be reached for {what} after {failures} tries ({type(error).__name__})"
                    ) from None
                self._backoff(failures, path, f"network: {type(error).__name__}", until, what)
                continue
            if status == 200:
                try:
                    return json.loads(body)
                except ValueError:
                    raise MassiveError(f"Massive's answer for {what} is not JSON") from None
            if 300 <= status < 400:
                where = urlsplit(response.headers.get("Location", "")).hostname or "nowhere"
                raise MassiveError(f"Massive answered {what} with a redirect (HTTP {status} to {where}); not followed")
            if status in (401, 403):
                raise EntitlementError(
                    f"the Massive key lacks entitlement for {what} (HTTP {status}: {_message(body)})"
                )
            if status == 429:
                rate_limited += 1
                if rate_limited >= self.retry.rate_limit_attempts:
                    raise RateLimitedError(
                        f"Massive rate-limited {what} (HTTP 429: {_message(body)}) {rate_limited} times in a row"
                    )
                # The step is a floor: `Retry-After: 0` must not turn into a loop at full speed.
                step = self.retry.rate_limit_base_s * 2 ** min(rate_limited - 1, 10)
                delay = min(self.retry.rate_limit_cap_s, max(step, _retry_after(response) or 0.0))
                if delay >= until - self._clock():
                    raise DeadlineExceeded(
                        f"out of time for {what}: Massive rate-limited it (HTTP 429) and the next wait"
                        f" ({delay:.0f} s) passes the call's deadline"
                    )
                if not self.retry.budget.take(delay):
                    raise RateLimitedError(
                        f"Massive rate-limited {what} (HTTP 429: {_message(body)}); this process's"
                        f" {self.retry.budget.total_s:.0f} s budget for waiting is spent"
                    )
                log.warning("massive rate limited; waiting", extra={"path": path, "wait_s": round(delay, 2)})
                self._sleep(delay)
                continue
            if status >= 500:
                failures += 1
                if failures >= self.retry.attempts:
                    raise UnavailableError(f"Massive answered HTTP {status} for {what} {failures} times in a row")
                self._backoff(failures, path, f"HTTP {status}", until, what)
                continue
            if status == 404:
                raise NotFoundError(f"Massive has no {what} (HTTP 404: {_message(body)})")
            raise MassiveError(f"Massive refused {what} (HTTP {status}: {_message(body)})")

    def _read_body(self, response: requests.Response, what: str, until: float) -> bytes:
        """The body read chunk by chunk against the deadline and MAX_BODY_BYTES (a trickle cannot hold us)."""
        raw = response.raw
        chunks: list[bytes] = []
        size = 0
        while True:
            left = until - self._clock()
            if left <= 0:
                raise DeadlineExceeded(f"out of time for {what}: Massive's answer was still arriving")
            self._shorten_reads(response, left)
            try:
                chunk = raw.read1(_READ_CHUNK, decode_content=True)
            except (urllib3.exceptions.ReadTimeoutError, TimeoutError) as error:
                if until - self._clock() <= 0:
                    raise DeadlineExceeded(f"out of time for {what}: Massive's answer was still arriving") from None
                raise requests.Timeout(str(error)) from None
            except (urllib3.exceptions.HTTPError, OSError) as error:  # retried like any network failure
                raise requests.ConnectionError(str(error)) from None
            if not chunk:
                return b"".join(chunks)
            size += len(chunk)
            if size > MAX_BODY_BYTES:
                raise TooLargeError(f"Massive's answer for {what} passed {MAX_BODY_BYTES // 2**20} MB; refused")
            chunks.append(chunk)

    def _shorten_reads(self, response: requests.Response, left: float) -> None:
        # The read timeout was set when the request started: each later read may wait only what is left.
        connection = getattr(response.raw, "connection", None) or getattr(response.raw, "_connection", None)
        sock = getattr(connection, "sock", None)
        if sock is not None:
            sock.settimeout(max(min(self.timeout[1], left), 0.001))

    def _backoff(self, failures: int, path: str, reason: str, until: float, what: str) -> None:
        ceiling = min(self.retry.backoff_cap_s, self.retry.backoff_base_s * 2 ** (failures - 1))
        delay = self._rng.uniform(0, ceiling)  # full jitter: simultaneous retries spread out
        if delay >= until - self._clock():
            raise DeadlineExceeded(f"out of time for {what}: Massive failed ({reason}) and no retry fits the deadline")
        log.warning("massive call failed; retrying", extra={"path": path, "reason": reason, "wait_s": round(delay, 2)})
        self._sleep(delay)


def _results(page: Page) -> list[Any]:
    results = getattr(page, "results", None)
    return results if isinstance(results, list) else []


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
    "DeadlineExceeded",
    "EntitlementError",
    "MassiveError",
    "MassiveRest",
    "NotFoundError",
    "RateLimitBudget",
    "RateLimitedError",
    "RetryPolicy",
    "TooLargeError",
    "UnavailableError",
    "UpstreamTimeout",
    "default_client",
    "massive_ticker",
]
