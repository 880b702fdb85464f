"""Massive's REST responses as pydantic models: the fields we read are checked, the rest is kept.

Massive is an upstream we do not control: a row it sends may carry `NaN`, `1e999` (read as
Infinity), a string where a number belongs, a negative price or a bar whose high is below its
low. Such a row is refused here, at the edge, one row at a time (`screen`), so the good rows of
the same page are kept and nothing impossible reaches a table, a figure or a trader's screen.
The tables hold the same rules as `check` constraints (migration 0013).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Annotated, Any, Generic, TypeVar

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

# Past these a number is a unit error or a lie, not a market: no listed price reaches ten million,
# no contract has a billion open, no bar trades a trillion shares in its window.
MAX_PRICE = 10_000_000.0
MAX_VOLUME = 1e12
MAX_OPEN_INTEREST = 1e9
# A volatility of 10,000 % and a greek past a million are both beyond any listed contract.
MAX_IV = 100.0
MAX_GREEK = 1e6
# Delta is in [-1, 1]; a rounding hair over is Massive's arithmetic, not a lie.
DELTA_SLACK = 1e-3

# Strict: a string such as "101.5" is refused, not read as a number; non-finite values are refused.
Price = Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, lt=MAX_PRICE)]
Volume = Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, lt=MAX_VOLUME)]
Finite = Annotated[float, Field(strict=True, allow_inf_nan=False)]
Count = Annotated[int, Field(strict=True, ge=0)]


class _Loose(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="allow", populate_by_name=True)


class Bar(_Loose):
    """One aggregate: `t` is the window's start in epoch milliseconds; prices positive, l ≤ o, c ≤ h."""

    t: Count
    o: Price
    h: Price
    l: Price  # noqa: E741 - Massive's field name
    c: Price
    v: Volume = 0.0
    vw: Price | None = None
    n: Count | None = None

    @model_validator(mode="after")
    def _inside_its_range(self) -> Bar:
        if self.l > self.h:
            raise ValueError(f"low {self.l} is above high {self.h}")
        for name in ("o", "c"):
            value = getattr(self, name)
            if not self.l <= value <= self.h:
                raise ValueError(f"{name} {value} is outside [low {self.l}, high {self.h}]")
        return self


class Page(_Loose):
    """What every list endpoint returns: results and, when there is more, `next_url`.

    `results` stay raw here: each row is checked on its own by `screen`, so one bad row costs only itself.
    """

    status: str | None = None
    request_id: str | None = None
    next_url: str | None = None
    results: list[Any] = Field(default_factory=list)


class AggregatesPage(Page):
    ticker: str | None = None


class OptionChainPage(Page):
    """A page of an option chain snapshot (rows screened as `OptionSnapshot`)."""


class IndexSnapshotPage(Page):
    """A page of index snapshots (rows screened as `IndexSnapshot`)."""


class Greeks(_Loose):
    delta: Finite | None = None
    gamma: Finite | None = None
    theta: Finite | None = None
    vega: Finite | None = None

    @model_validator(mode="after")
    def _plausible(self) -> Greeks:
        if self.delta is not None and abs(self.delta) > 1 + DELTA_SLACK:
            raise ValueError(f"delta {self.delta} is outside [-1, 1]")
        for name in ("gamma", "theta", "vega"):
            value = getattr(self, name)
            if value is not None and abs(value) > MAX_GREEK:
                raise ValueError(f"{name} {value} is beyond any listed contract")
        return self


class ContractDetails(_Loose):
    """A contract's terms; any may be absent (such a contract is counted as unplaceable, not refused)."""

    contract_type: str | None = None
    exercise_style: str | None = None
    expiration_date: str | None = None
    shares_per_contract: Annotated[float, Field(strict=True, allow_inf_nan=False, gt=0, le=1_000_000)] | None = None
    strike_price: Price | None = None
    ticker: str

    @field_validator("expiration_date")
    @classmethod
    def _a_date(cls, value: str | None) -> str | None:
        if value is not None:
            date.fromisoformat(value)
        return value


# In a snapshot's sub-objects (`day`, `last_quote`, `last_trade`, `underlying_asset`, `prevDay`), these
# are prices, sizes and volumes: never negative. The rest may be (`change`, `change_to_break_even`) or
# are large by nature (`last_updated` in nanoseconds); they need only be finite.
_NON_NEGATIVE_KEYS = frozenset({
    "open", "high", "low", "close", "volume", "vwap", "previous_close", "bid", "ask", "bid_size", "ask_size",
    "midpoint", "price", "size", "o", "h", "l", "c", "v", "vw", "p", "s",
})  # fmt: skip


def _finite_values(value: dict[str, Any] | None, what: str) -> dict[str, Any] | None:
    """A sub-object's numbers must be finite, and its prices, sizes and volumes possible."""
    if value is None:
        return None
    for key, item in value.items():
        items = item if isinstance(item, list) else [item]
        for one in items:
            if isinstance(one, bool) or not isinstance(one, int | float | str | None):
                raise ValueError(f"{what}.{key} is not a number")
            if isinstance(one, float) and not math.isfinite(one):
                raise ValueError(f"{what}.{key} {one} is not finite")
            if key in _NON_NEGATIVE_KEYS and isinstance(one, int | float) and not 0 <= one < MAX_VOLUME:
                raise ValueError(f"{what}.{key} {one} is not a possible value")
    return value


def _possible_numbers(value: Any, info: ValidationInfo) -> Any:
    """The validator of a snapshot's sub-objects (`_finite_values`), shared by the snapshot models."""
    if isinstance(value, dict):
        return _finite_values(value, str(info.field_name))
    return value


class OptionSnapshot(_Loose):
    """One contract of an option chain snapshot; greeks can be absent (deep in the money)."""

    details: ContractDetails
    greeks: Greeks | None = None
    implied_volatility: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, le=MAX_IV)] | None = None
    open_interest: Annotated[float, Field(strict=True, allow_inf_nan=False, ge=0, lt=MAX_OPEN_INTEREST)] | None = None
    break_even_price: Price | None = None
    fmv: Price | None = None
    day: dict[str, float | int | None] | None = None
    last_quote: dict[str, float | int | str | None] | None = None
    last_trade: dict[str, float | int | str | list[int] | None] | None = None
    underlying_asset: dict[str, float | int | str | None] | None = None

    _numbers_possible = field_validator("day", "last_quote", "last_trade", "underlying_asset", mode="before")(
        _possible_numbers
    )


class IndexSnapshot(_Loose):
    """One index; a per-ticker error (`NOT_ENTITLED`, `NOT_FOUND`) arrives here with HTTP 200."""

    ticker: str
    value: Price | None = None
    name: str | None = None
    market_status: str | None = None
    last_updated: int | None = None
    session: dict[str, float | None] | None = None
    error: str | None = None
    message: str | None = None

    @field_validator("session", mode="before")
    @classmethod
    def _session_finite(cls, value: Any) -> Any:
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(item, float) and not math.isfinite(item):
                    raise ValueError(f"session.{key} is not finite")
        return value


class ContractSnapshotAnswer(_Loose):
    """`GET /v3/snapshot/options/{underlying}/{contract}`: one contract, screened as `OptionSnapshot`."""

    status: str | None = None
    results: Any = None


class StockSnapshot(_Loose):
    """One stock of `GET /v2/snapshot/locale/us/markets/stocks/tickers`: today's change and the last trade."""

    ticker: str
    todaysChange: Finite | None = None  # noqa: N815 - Massive's field name
    todaysChangePerc: Finite | None = None  # noqa: N815
    updated: Count | None = None
    day: dict[str, float | int | None] | None = None
    lastTrade: dict[str, float | int | str | list[int] | None] | None = None  # noqa: N815
    prevDay: dict[str, float | int | None] | None = None  # noqa: N815

    _numbers_possible = field_validator("day", "prevDay", mode="before")(_possible_numbers)

    @property
    def last_price(self) -> float | None:
        """The last trade's price, else today's close so far; None when Massive has neither."""
        for source in (self.lastTrade or {}).get("p"), (self.day or {}).get("c"):
            if isinstance(source, int | float) and not isinstance(source, bool) and 0 < source < MAX_PRICE:
                return float(source)
        return None


class StockSnapshotsAnswer(_Loose):
    """The stocks snapshot's body: `tickers`, each screened as `StockSnapshot`."""

    status: str | None = None
    tickers: list[Any] = Field(default_factory=list)


class MarketStatus(_Loose):
    market: str
    serverTime: str | None = None  # noqa: N815 - Massive's field name
    earlyHours: bool | None = None  # noqa: N815
    afterHours: bool | None = None  # noqa: N815
    exchanges: dict[str, str] = Field(default_factory=dict)


# ---------------------------------------------------------------------------------------------- screening

RowT = TypeVar("RowT", bound=BaseModel)


@dataclass
class Screened(Generic[RowT]):
    """The rows of a page that passed, and why the others did not (`reasons` keeps the first few)."""

    rows: list[RowT] = field(default_factory=list)
    refused: int = 0
    reasons: list[str] = field(default_factory=list)

    KEEP_REASONS = 5

    def refuse(self, reason: str) -> None:
        self.refused += 1
        if len(self.reasons) < self.KEEP_REASONS:
            self.reasons.append(reason)


def _reason(error: ValidationError) -> str:
    first = error.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or "row"
    return f"{where}: {first['msg']}"[:200]


def screen(
    rows: Iterable[Any], model: type[RowT], *, check: Callable[[RowT], str | None] | None = None
) -> Screened[RowT]:
    """Each raw row as `model`, or refused with its reason; `check` adds a rule that needs the request."""
    screened: Screened[RowT] = Screened()
    for raw in rows:
        try:
            row = model.model_validate(raw)
        except ValidationError as error:
            screened.refuse(_reason(error))
            continue
        problem = check(row) if check is not None else None
        if problem is not None:
            screened.refuse(problem)
            continue
        screened.rows.append(row)
    return screened


def bar_check(step_ms: int, end_ms: int) -> Callable[[Bar], str | None]:
    """The rules a bar's time must meet for the request it answers: not after `end_ms`, on the grid."""

    def check(bar: Bar) -> str | None:
        if bar.t > end_ms:
            return f"t {bar.t} is after the requested end {end_ms}"
        if bar.t % step_ms:
            return f"t {bar.t} is not on the {step_ms // 1000} s grid"
        return None

    return check
