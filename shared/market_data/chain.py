"""An option chain as an admin reads it: a row per contract, mid and greeks, N strikes each side of the money."""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from shared.massive.models import OptionSnapshot

OptionType = Literal["call", "put"]


class ContractQuote(BaseModel):
    """One contract's snapshot: OCC symbol, terms, quote, greeks; null where Massive gave nothing."""

    model_config = ConfigDict(defer_build=True)

    occ: str
    underlying: str
    expiration: date
    strike: float
    type: OptionType
    bid: float | None
    ask: float | None
    mid: float | None
    last: float | None
    volume: float | None
    open_interest: float | None
    iv: float | None
    delta: float | None
    gamma: float | None
    theta: float | None
    vega: float | None
    break_even: float | None


def _number(mapping: dict[str, Any] | None, key: str) -> float | None:
    value = (mapping or {}).get(key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _positive(value: float | None) -> float | None:
    return value if value is not None and value > 0 else None


def mid_of(bid: float | None, ask: float | None, midpoint: float | None = None) -> float | None:
    """The middle of a two-sided quote, to a tenth of a cent; Massive's midpoint when one side is missing.

    A crossed quote (bid above ask) or a side at zero is not a market to take a middle of.
    """
    if bid is not None and ask is not None and 0 < bid <= ask:
        return round((bid + ask) / 2, 4)
    return _positive(midpoint)


def quote_of(snapshot: OptionSnapshot, underlying: str) -> ContractQuote | None:
    """A contract's row, or None when Massive's snapshot lacks its terms (type, strike, expiration)."""
    details = snapshot.details
    kind = (details.contract_type or "").lower()
    if kind not in ("call", "put") or details.strike_price is None or details.expiration_date is None:
        return None
    bid = _positive(_number(snapshot.last_quote, "bid"))
    ask = _positive(_number(snapshot.last_quote, "ask"))
    greeks = snapshot.greeks
    return ContractQuote(
        occ=details.ticker,
        underlying=underlying,
        expiration=date.fromisoformat(details.expiration_date),
        strike=details.strike_price,
        type="call" if kind == "call" else "put",
        bid=bid,
        ask=ask,
        mid=mid_of(bid, ask, _number(snapshot.last_quote, "midpoint")),
        last=_positive(_number(snapshot.last_trade, "price")),
        volume=_number(snapshot.day, "volume"),
        open_interest=snapshot.open_interest,
        iv=snapshot.implied_volatility,
        delta=greeks.delta if greeks else None,
        gamma=greeks.gamma if greeks else None,
        theta=greeks.theta if greeks else None,
        vega=greeks.vega if greeks else None,
        break_even=snapshot.break_even_price,
    )


def underlying_price(snapshots: Iterable[OptionSnapshot]) -> float | None:
    """The underlying's price as the chain snapshot carries it (the first contract that has one)."""
    for snapshot in snapshots:
        price = _positive(_number(snapshot.underlying_asset, "price"))
        if price is not None:
            return price
    return None


def at_the_money(strikes: Sequence[float], spot: float) -> float | None:
    """The listed strike nearest `spot` (the lower of two equally near); None for no strikes."""
    if not strikes:
        return None
    ordered = sorted(set(strikes))
    i = bisect.bisect_left(ordered, spot)
    candidates = ordered[max(i - 1, 0) : i + 1]
    return min(candidates, key=lambda strike: (abs(strike - spot), strike))


def window(
    contracts: Sequence[ContractQuote], spot: float, strikes_each_side: int, only: OptionType | None = None
) -> tuple[float | None, list[ContractQuote]]:
    """The at-the-money strike and the contracts of it and `strikes_each_side` strikes below and above it.

    Sorted by strike, calls before puts at one strike; `only` keeps calls or puts.
    """
    chosen = [c for c in contracts if only is None or c.type == only]
    listed = sorted({c.strike for c in chosen})
    atm = at_the_money(listed, spot)
    if atm is None:
        return None, []
    i = listed.index(atm)
    kept = set(listed[max(i - strikes_each_side, 0) : i + strikes_each_side + 1])
    rows = [c for c in chosen if c.strike in kept]
    rows.sort(key=lambda c: (c.strike, c.type != "call"))
    return atm, rows
