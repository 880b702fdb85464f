"""From Massive's chain snapshot to stored gamma snapshots: the Chain arrays, then one record per view.

Pure (no I/O): the job fetches, this shapes, `exposure.py` computes. Building the arrays
reads each contract once (that is parsing JSON, not maths); every figure is then computed over the
whole chain at once.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Sequence
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


class ChainBuilder:
    """A chain reduced page by page into compact columns (8 bytes a number), so no page's models outlive it.

    `add` each page of contracts as it arrives, then `finish` once: the whole chain is never held
    as models (about 6 KB a contract), only as arrays (about 60 bytes a contract).
    """

    def __init__(self) -> None:
        self.strikes = array("d")
        self.calls = array("b")
        self.expiry_codes = array("q")
        self.gammas = array("d")
        self.ivs = array("d")
        self.ois = array("d")
        self.volumes = array("d")
        # Few distinct expirations: each gets a code once, the contracts carry the code.
        self.expirations: dict[str, int] = {}
        self.unplaceable = 0
        self.underlying_price: float | None = None

    def __len__(self) -> int:
        return len(self.strikes)

    def add(self, contracts: Iterable[OptionSnapshot]) -> ChainBuilder:
        """Reduce one page of contracts into the columns; unplaceable contracts are only counted."""
        for contract in contracts:
            details = contract.details
            kind = (details.contract_type or "").lower()
            strike = _number(details.strike_price)
            expiry = details.expiration_date or ""
            if kind not in ("call", "put") or not strike > 0 or len(expiry) != 10:
                self.unplaceable += 1
                continue
            self.strikes.append(strike)
            self.calls.append(kind == "call")
            self.expiry_codes.append(self.expirations.setdefault(expiry, len(self.expirations)))
            self.gammas.append(_number(contract.greeks.gamma) if contract.greeks is not None else math.nan)
            self.ivs.append(_number(contract.implied_volatility))
            self.ois.append(_number(contract.open_interest))
            self.volumes.append(_number((contract.day or {}).get("volume")))
            if self.underlying_price is None and contract.underlying_asset is not None:
                candidate = _number(contract.underlying_asset.get("price"))
                self.underlying_price = candidate if candidate > 0 else None
        return self

    def finish(self, now: datetime) -> ChainArrays:
        """The chain's parallel arrays at `now`; NaN where Massive gave no gamma, IV, OI or volume."""
        today = now.astimezone(calendar.NEW_YORK).date()
        count = len(self.expirations)
        days = np.empty(count, dtype=np.int64)
        years = np.empty(count, dtype=np.float64)
        for text, i in self.expirations.items():
            try:
                expiry_date = date.fromisoformat(text)
            except ValueError:
                days[i], years[i] = -1, 0.0
                continue
            days[i] = (expiry_date - today).days
            seconds = (calendar.expiration_cutoff(expiry_date) - now.astimezone(UTC)).total_seconds()
            years[i] = max(seconds / YEAR_SECONDS, MIN_YEARS)
        index = np.frombuffer(self.expiry_codes, dtype=np.int64) if len(self) else np.empty(0, dtype=np.int64)
        chain = Chain(
            strike=np.frombuffer(self.strikes, dtype=np.float64).copy(),
            is_call=np.frombuffer(self.calls, dtype=np.int8).astype(np.bool_),
            days_to_expiry=days[index] if len(self) else np.empty(0, dtype=np.int64),
            years_to_expiry=years[index] if len(self) else np.empty(0, dtype=np.float64),
            gamma=np.frombuffer(self.gammas, dtype=np.float64).copy(),
            iv=np.frombuffer(self.ivs, dtype=np.float64).copy(),
            open_interest=np.frombuffer(self.ois, dtype=np.float64).copy(),
            volume=np.frombuffer(self.volumes, dtype=np.float64).copy(),
        )
        live = chain.days_to_expiry >= 0
        return ChainArrays(chain.select(live), self.unplaceable + int((~live).sum()), self.underlying_price)


def build_chain(contracts: Sequence[OptionSnapshot], now: datetime) -> ChainArrays:
    """The chain's parallel arrays at `now` from contracts already in hand (ChainBuilder for pages)."""
    return ChainBuilder().add(contracts).finish(now)


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
