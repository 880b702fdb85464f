"""The trade as the core sees it: plain pydantic values, no I/O."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.trades.dte import TradeType

TradeState = Literal["watching", "loaded", "entered", "exited"]
StoredState = Literal["loaded", "entered", "exited"]
Side = Literal["call", "put"]
StopMode = Literal["fixed", "trailing"]

# Premiums up to $99,999,999.9999; numeric(12,4) in the database.
Premium = Annotated[Decimal, Field(gt=0, max_digits=12, decimal_places=4)]
ExitPremium = Annotated[Decimal, Field(ge=0, max_digits=12, decimal_places=4)]
Level = Annotated[Decimal, Field(gt=0, max_digits=14, decimal_places=4)]


class Greeks(BaseModel):
    """The contract's greeks when the admin loaded it."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    delta: float | None = Field(default=None, ge=-1, le=1, allow_inf_nan=False)
    gamma: float | None = Field(default=None, ge=-1000, le=1000, allow_inf_nan=False)
    theta: float | None = Field(default=None, ge=-100000, le=100000, allow_inf_nan=False)
    vega: float | None = Field(default=None, ge=-100000, le=100000, allow_inf_nan=False)
    # Implied volatility as a fraction: 0.25 is 25 %.
    iv: float | None = Field(default=None, ge=0, le=100, allow_inf_nan=False)


ConfluenceValue = Annotated[float, Field(allow_inf_nan=False)] | Annotated[str, Field(max_length=200)] | bool


class Confluence(BaseModel):
    """The confluence snapshot: a 0-100 score and its named factors."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    score: int = Field(ge=0, le=100)
    factors: dict[Annotated[str, Field(min_length=1, max_length=64)], ConfluenceValue] = Field(
        default_factory=dict, max_length=25
    )


class Trade(BaseModel):
    """One option trade; `state` "watching" exists only before the first save."""

    model_config = ConfigDict(defer_build=True, extra="forbid", validate_assignment=True)

    id: UUID | None = None
    ticker: str
    contract: str
    underlying: str
    strike: Decimal
    expiry: date
    side: Side
    trade_type: TradeType
    state: TradeState = "watching"
    quantity: int = Field(default=1, ge=1)
    entry_price: Premium | None = None
    current_price: Premium | None = None
    target_price: Premium | None = None
    stop_loss: Premium | None = None
    exit_price: ExitPremium | None = None
    target_underlying: Level | None = None
    stop_underlying: Level | None = None
    stop_mode: StopMode = "fixed"
    setup_type: str | None = None
    notes: str | None = None
    confluence: Confluence | None = None
    greeks: Greeks | None = None
    created_at: datetime | None = None
    loaded_at: datetime | None = None
    entered_at: datetime | None = None
    exited_at: datetime | None = None
    updated_at: datetime | None = None
    version: int = 0


class ActionInputs(BaseModel):
    """What an admin supplied with an action, beyond its name."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    price: ExitPremium | None = None
    stop_loss: Premium | None = None
    target_price: Premium | None = None
    trim_percent: Decimal | None = Field(default=None, gt=0, le=100, max_digits=5, decimal_places=2)
    quantity: int | None = Field(default=None, ge=1, le=100000)
    # The quote at the fill, when the admin has it: half the spread is the fill's slippage.
    bid: ExitPremium | None = None
    ask: ExitPremium | None = None
    comment: str | None = Field(default=None, max_length=2000)


UpdateType = Literal["load", "enter", "trim", "add", "update_sl", "trail_stop", "update", "exit", "share_exit"]


class UpdateDraft(BaseModel):
    """The trade-update row an action writes; `pnl_percent` is the whole position's, at the action's price."""

    model_config = ConfigDict(defer_build=True)

    type: UpdateType
    price: Decimal | None = None
    message: str | None = None
    pnl_percent: Decimal | None = None
    trim_percent: Decimal | None = None
    quantity: int | None = None
