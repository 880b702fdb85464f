"""Massive's REST responses as pydantic models (the fields we read; the rest is kept, not validated)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Loose(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="allow", populate_by_name=True)


class Bar(_Loose):
    """One aggregate: `t` is the window's start in epoch milliseconds."""

    t: int
    o: float
    h: float
    l: float  # noqa: E741 - Massive's field name
    c: float
    v: float = 0.0
    vw: float | None = None
    n: int | None = None


class Page(_Loose):
    """What every list endpoint returns: results and, when there is more, `next_url`."""

    status: str | None = None
    request_id: str | None = None
    next_url: str | None = None


class AggregatesPage(Page):
    ticker: str | None = None
    results: list[Bar] = Field(default_factory=list)


class Greeks(_Loose):
    delta: float | None = None
    gamma: float | None = None
    theta: float | None = None
    vega: float | None = None


class ContractDetails(_Loose):
    contract_type: str | None = None
    exercise_style: str | None = None
    expiration_date: str | None = None
    shares_per_contract: float | None = None
    strike_price: float | None = None
    ticker: str


class OptionSnapshot(_Loose):
    """One contract of an option chain snapshot; greeks can be absent (deep in the money)."""

    details: ContractDetails
    greeks: Greeks | None = None
    implied_volatility: float | None = None
    open_interest: float | None = None
    break_even_price: float | None = None
    fmv: float | None = None
    day: dict[str, float | int | None] | None = None
    last_quote: dict[str, float | int | str | None] | None = None
    underlying_asset: dict[str, float | int | str | None] | None = None


class OptionChainPage(Page):
    results: list[OptionSnapshot] = Field(default_factory=list)


class IndexSnapshot(_Loose):
    """One index; a per-ticker error (`NOT_ENTITLED`, `NOT_FOUND`) arrives here with HTTP 200."""

    ticker: str
    value: float | None = None
    name: str | None = None
    market_status: str | None = None
    last_updated: int | None = None
    session: dict[str, float | None] | None = None
    error: str | None = None
    message: str | None = None


class IndexSnapshotPage(Page):
    results: list[IndexSnapshot] = Field(default_factory=list)


class MarketStatus(_Loose):
    market: str
    serverTime: str | None = None  # noqa: N815 - Massive's field name
    earlyHours: bool | None = None  # noqa: N815
    afterHours: bool | None = None  # noqa: N815
    exchanges: dict[str, str] = Field(default_factory=dict)
