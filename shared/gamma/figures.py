"""What a gamma snapshot says, shared by the maths, the rows, the API and the scanner (pure, no numpy).

`View` names which contracts a figure covers; `ChainFigures` are the totals, levels and counts the
maths computes for one view; `GammaFigures` adds the unit check the job stores beside them;
`GammaLevels` are the levels the scanner takes as context. No numpy here: the routes that read
snapshots must not pay for it at a cold start.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

View = Literal["all", "nearest", "30d"]
VIEWS: tuple[View, ...] = ("all", "nearest", "30d")


class ChainFigures(BaseModel):
    """One view's totals, levels and counts: dollars of delta per 1 % move, calls positive, puts negative."""

    model_config = ConfigDict(defer_build=True)

    spot: float
    net_gex: float
    call_gex: float
    put_gex: float
    call_wall: float | None
    put_wall: float | None
    zero_gamma: float | None
    max_pain: float | None
    contracts: int
    contracts_without_greeks: int
    contracts_without_open_interest: int


class GammaFigures(ChainFigures):
    """A snapshot's figures with its unit check: what the row, the API's snapshot and its history share."""

    gamma_unit_ratio: float | None


@dataclass(frozen=True)
class GammaLevels:
    """The latest gamma snapshot's levels (any may be missing)."""

    spot: float | None
    zero_gamma: float | None
    call_wall: float | None
    put_wall: float | None
