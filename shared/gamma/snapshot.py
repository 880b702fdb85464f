"""From Massive's chain snapshot to stored gamma snapshots: the Chain arrays, then one record per view.

Pure (no I/O): the job fetches, this shapes, `exposure.py` computes. Building the arrays
reads each contract once (that is parsing JSON, not maths); every figure is then computed over the
whole chain at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime

import numpy as np

from shared.gamma.exposure import MIN_YEARS, YEAR_SECONDS, Chain, Exposure, exposure, gamma_scale, gamma_unit_ratio
from shared.gamma.figures import VIEWS
from shared.gamma.store import STRIKE_FIELDS, SnapshotRecord, bucket_of
from shared.market import calendar
from shared.massive.models import OptionSnapshot


@dataclass(frozen=True)
class ChainArrays:
    """A chain ready for the maths, and the contracts that could not be placed in it."""

    chain: Chain
    # No strike, no call/put, no parseable expiration, or already expired: they cannot be placed.
    unplaceable: int
    underlying_price: float | None


def _number(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return math.nan


def build_chain(contracts: Sequence[OptionSnapshot], now: datetime) -> ChainArrays:
    """The chain's parallel arrays at `now`; NaN where Massive gave no gamma, IV, OI or volume."""
    today = now.astimezone(calendar.NEW_YORK).date()
    strikes: list[float] = []
    calls: list[bool] = []
    expirations: list[str] = []
    gammas: list[float] = []
    ivs: list[float] = []
    ois: list[float] = []
    volumes: list[float] = []
    unplaceable = 0
    price: float | None = None
    for contract in contracts:
        details = contract.details
        kind = (details.contract_type or "").lower()
        strike = _number(details.strike_price)
        expiry = details.expiration_date or ""
        if kind not in ("call", "put") or not strike > 0 or len(expiry) != 10:
            unplaceable += 1
            continue
        strikes.append(strike)
        calls.append(kind == "call")
        expirations.append(expiry)
        gammas.append(_number(contract.greeks.gamma) if contract.greeks is not None else math.nan)
        ivs.append(_number(contract.implied_volatility))
        ois.append(_number(contract.open_interest))
        volumes.append(_number((contract.day or {}).get("volume")))
        if price is None and contract.underlying_asset is not None:
            candidate = _number(contract.underlying_asset.get("price"))
            price = candidate if candidate > 0 else None
    # Few distinct expirations: their times are worked out once each, then spread over the contracts.
    unique, index = np.unique(np.array(expirations, dtype=str), return_inverse=True)
    days = np.empty(unique.shape[0], dtype=np.int64)
    years = np.empty(unique.shape[0], dtype=np.float64)
    for i, text in enumerate(unique.tolist()):
        try:
            expiry_date = date.fromisoformat(text)
        except ValueError:
            days[i], years[i] = -1, 0.0
            continue
        days[i] = (expiry_date - today).days
        seconds = (calendar.expiration_cutoff(expiry_date) - now.astimezone(UTC)).total_seconds()
        years[i] = max(seconds / YEAR_SECONDS, MIN_YEARS)
    chain = Chain(
        strike=np.array(strikes, dtype=np.float64),
        is_call=np.array(calls, dtype=np.bool_),
        days_to_expiry=days[index] if len(strikes) else np.empty(0, dtype=np.int64),
        years_to_expiry=years[index] if len(strikes) else np.empty(0, dtype=np.float64),
        gamma=np.array(gammas, dtype=np.float64),
        iv=np.array(ivs, dtype=np.float64),
        open_interest=np.array(ois, dtype=np.float64),
        volume=np.array(volumes, dtype=np.float64),
    )
    live = chain.days_to_expiry >= 0
    unplaceable += int((~live).sum())
    return ChainArrays(chain.select(live), unplaceable, price)


def _cents(value: float) -> float:
    return round(value, 2)


def _level(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def record(symbol: str, result: Exposure, *, taken_at: datetime, bucket: datetime, ratio: float | None,
           scale: float) -> SnapshotRecord:
    """The row for one view; dollar figures rounded to cents, levels to 1/10,000 of a point."""
    columns: dict[str, list[float]] = {name: [] for name in STRIKE_FIELDS}
    for row in result.strikes:
        columns["strike"].append(row.strike)
        for name in STRIKE_FIELDS[1:]:
            columns[name].append(_cents(getattr(row, name)))
    rounded = {
        "net_gex": _cents(result.net_gex),
        "call_gex": _cents(result.call_gex),
        "put_gex": _cents(result.put_gex),
        "zero_gamma": _level(result.zero_gamma),
    }
    return SnapshotRecord(
        **(result.model_dump(exclude={"view", "strikes"}) | rounded),
        symbol=symbol,
        view=result.view,
        bucket=bucket,
        taken_at=taken_at,
        gamma_unit_ratio=None if ratio is None else round(ratio, 6),
        gamma_scale=scale,
        strikes=columns,
    )


def snapshot(symbol: str, arrays: ChainArrays, spot: float, *, taken_at: datetime,
             interval_s: int) -> list[SnapshotRecord]:
    """Every view of a chain at `spot`, with Massive's gamma units checked (and rescaled if per $0.01)."""
    ratio = gamma_unit_ratio(arrays.chain, spot)
    scale = gamma_scale(ratio)
    chain = arrays.chain if scale == 1.0 else replace(arrays.chain, gamma=arrays.chain.gamma * scale)
    bucket = bucket_of(taken_at, interval_s)
    return [
        record(symbol, exposure(chain, spot, view), taken_at=taken_at, bucket=bucket, ratio=ratio, scale=scale)
        for view in VIEWS
    ]
