"""`/api/market/...`: option expirations, chains, one contract and quotes, from Massive through our cache.

The web client picks a contract here without ever holding `MASSIVE_API_KEY`. Every answer comes
from `shared.market_data` (one Massive call per cache life for all admins); upstream trouble is
told in our own words (429 → 503 with Retry-After, 403 → 403 `not_entitled`, 404 → 404, a
timeout → 504), never as an empty 200 and never in Massive's text. Each admin may make
MARKET_REQUESTS_PER_MINUTE requests a minute here (429 with Retry-After past it).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import date, datetime
from typing import Literal, ParamSpec, TypeVar

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field, field_validator

from functions.web import openapi
from functions.web.auth import current_user, requires_user
from functions.web.errors import NotFound, TooManyRequests, Unprocessable
from functions.web.requests import parse_query
from functions.web.upstream import market_data, upstream_error
from shared.market_data.cache import CacheBusy
from shared.market_data.chain import ContractQuote, window
from shared.market_data.expirations import Expiration
from shared.market_data.quotes import Quote
from shared.massive.errors import MassiveError, NotFoundError
from shared.symbols import SymbolError, normalize_symbol

bp = Blueprint("market", __name__)

_TAG = "market"
MAX_QUOTES = 50
MAX_STRIKES_EACH_SIDE = 50

P = ParamSpec("P")
R = TypeVar("R")


# ------------------------------------------------------------------------------------------ models


class ChainQuery(BaseModel):
    """Query of the chain route: which expiration (default the nearest), strikes each side, calls or puts."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    expiration: date | None = None
    strikes: int = Field(default=10, ge=1, le=MAX_STRIKES_EACH_SIDE)
    type: Literal["call", "put"] | None = None


class QuotesQuery(BaseModel):
    """Query of the quotes route: up to 50 comma-separated symbols (`SPY,I:SPX,qqq`)."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    symbols: str = Field(min_length=1, max_length=1000)

    @field_validator("symbols")
    @classmethod
    def _listed(cls, value: str) -> str:
        names = [name for name in value.split(",") if name.strip()]
        if not names:
            raise ValueError("name at least one symbol")
        if len(names) > MAX_QUOTES:
            raise ValueError(f"at most {MAX_QUOTES} symbols per request")
        return value


class ExpirationsResponse(BaseModel):
    """The listed expirations of an underlying, nearest first."""

    model_config = ConfigDict(defer_build=True)

    underlying: str
    expirations: list[Expiration]
    as_of: datetime


class ChainContract(ContractQuote):
    """A contract of the chain; `atm` marks the at-the-money strike's."""

    atm: bool


class ChainResponse(BaseModel):
    """The strikes around the money of one expiration, sorted by strike, calls before puts."""

    model_config = ConfigDict(defer_build=True)

    underlying: str
    expiration: date
    dte: int
    underlying_price: float | None
    atm_strike: float | None
    as_of: datetime
    contracts: list[ChainContract]


class UnderlyingPrice(BaseModel):
    model_config = ConfigDict(defer_build=True)

    symbol: str
    price: float | None


class ContractResponse(BaseModel):
    """One contract's snapshot and its underlying's price."""

    model_config = ConfigDict(defer_build=True)

    contract: ContractQuote
    underlying: UnderlyingPrice
    as_of: datetime


class QuoteError(BaseModel):
    model_config = ConfigDict(defer_build=True)

    symbol: str
    code: str
    message: str


class QuotesResponse(BaseModel):
    """Quotes in the order asked; symbols Massive could not quote listed under `errors`."""

    model_config = ConfigDict(defer_build=True)

    quotes: list[Quote]
    errors: list[QuoteError]


# ------------------------------------------------------------------------------------------ edges


def fair_use(view: Callable[P, R]) -> Callable[P, R]:
    """Count the request against its admin's minute; 429 with Retry-After past the limit."""

    @functools.wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        from shared.config import get_settings
        from shared.db import service_tx
        from shared.market_data.fair_use import take

        limit = get_settings().market_requests_per_minute
        with service_tx() as conn:
            allowance = take(conn, current_user().user_id, limit)
        if not allowance.allowed:
            raise TooManyRequests(
                f"at most {limit} market requests a minute per admin; wait {allowance.retry_after_s} s",
                headers={"Retry-After": str(allowance.retry_after_s)},
            )
        return view(*args, **kwargs)

    return wrapper


def underlying_symbol(raw: str) -> str:
    """`spx` → `I:SPX`, `spy` → `SPY`; 422 naming `underlying` otherwise."""
    try:
        return normalize_symbol(raw)
    except SymbolError as error:
        raise Unprocessable(str(error), field="underlying") from None


# ------------------------------------------------------------------------------------------ routes


@bp.get("/api/market/options/<underlying>/expirations")
@openapi.operation(
    summary="The listed option expirations of an underlying, nearest first", tag=_TAG,
    response=ExpirationsResponse, errors=(422, 429, 502, 503, 504),
)
@requires_user
@fair_use
def expirations(underlying: str) -> ExpirationsResponse:
    symbol = underlying_symbol(underlying)
    try:
        listed, as_of = market_data().expirations(symbol)
    except (MassiveError, CacheBusy) as error:
        raise upstream_error(error, f"option expirations of {symbol}") from None
    return ExpirationsResponse(underlying=symbol, expirations=listed, as_of=as_of)


@bp.get("/api/market/options/<underlying>/chain")
@openapi.operation(
    summary="The strikes around the money of one expiration: quotes, IV and greeks per contract", tag=_TAG,
    response=ChainResponse, query=ChainQuery, errors=(429, 502, 503, 504),
)
@requires_user
@fair_use
def chain(underlying: str) -> ChainResponse:
    symbol = underlying_symbol(underlying)
    query = parse_query(ChainQuery)
    service = market_data()
    what = f"option chain snapshots of {symbol}"
    try:
        expiration = query.expiration
        if expiration is None:
            listed, _ = service.expirations(symbol)
            if not listed:
                raise NotFoundError(f"no listed expirations of {symbol}")
            expiration = listed[0].date
        elif expiration < service.today():
            raise Unprocessable(f"{expiration} has expired", field="expiration")
        snapshot = service.chain(symbol, expiration)
    except (MassiveError, CacheBusy) as error:
        raise upstream_error(error, what) from None
    spot = snapshot.spot
    atm, rows = window(snapshot.contracts, spot, query.strikes, query.type) if spot else (None, [])
    return ChainResponse(
        underlying=symbol,
        expiration=expiration,
        dte=(expiration - service.today()).days,
        underlying_price=spot,
        atm_strike=atm,
        as_of=snapshot.as_of,
        contracts=[ChainContract(**row.model_dump(), atm=row.strike == atm) for row in rows],
    )


@bp.get("/api/market/options/contracts/<occ>")
@openapi.operation(
    summary="One option contract's snapshot by its OCC symbol, and its underlying's price", tag=_TAG,
    response=ContractResponse, errors=(422, 429, 502, 503, 504),
)
@requires_user
@fair_use
def contract(occ: str) -> ContractResponse:
    service = market_data()
    try:
        answer = service.contract(occ)
    except SymbolError as error:
        raise Unprocessable(str(error), field="occ") from None
    except (MassiveError, CacheBusy) as error:
        raise upstream_error(error, f"snapshot of {occ[:40]}") from None
    return ContractResponse(
        contract=answer.contract,
        underlying=UnderlyingPrice(symbol=answer.contract.underlying, price=answer.underlying_price),
        as_of=answer.as_of,
    )


@bp.get("/api/market/quotes")
@openapi.operation(
    summary="Last price or index value, day change and session of up to 50 symbols", tag=_TAG,
    response=QuotesResponse, query=QuotesQuery, errors=(404, 429, 502, 503, 504),
)
@requires_user
@fair_use
def quotes() -> QuotesResponse:
    query = parse_query(QuotesQuery)
    symbols: list[str] = []
    for raw in query.symbols.split(","):
        if not raw.strip():
            continue
        try:
            symbol = normalize_symbol(raw.strip())
        except SymbolError as error:
            raise Unprocessable(str(error), field="symbols") from None
        if symbol not in symbols:
            symbols.append(symbol)
    try:
        found, refused = market_data().quotes(symbols)
    except (MassiveError, CacheBusy) as error:
        raise upstream_error(error, "quotes") from None
    errors = []
    for refusal in refused:
        told = upstream_error(refusal.error, f"quote of {refusal.symbol}")
        if told.code not in ("not_found", "not_entitled"):
            raise told  # the whole call failed (429, timeout): no partial answer pretends otherwise
        errors.append(QuoteError(symbol=refusal.symbol, code=told.code, message=told.message))
    if not found and errors and all(e.code == "not_found" for e in errors):
        raise NotFound(f"Massive has no quote of {', '.join(e.symbol for e in errors)}", field="symbols")
    return QuotesResponse(quotes=found, errors=errors)
