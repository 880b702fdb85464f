"""The JSON bodies and query of the trades API, as pydantic models (snake_case, unknown keys refused)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from shared.alerts.models import AlertBlock
from shared.alerts.presets import AlertAction
from shared.identifiers import IdentifierError, ascii_identifier
from shared.trades.dte import TradeType
from shared.trades.models import Confluence, ExitPremium, Greeks, Level, Premium, Side, StopMode, StoredState

Text100 = Annotated[str, Field(min_length=1, max_length=100)]
Notes = Annotated[str, Field(max_length=2000)]
Comment = Annotated[str, Field(max_length=2000)]
Quantity = Annotated[int, Field(ge=1, le=100000)]
TrimPercent = Annotated[Decimal, Field(gt=0, le=100, max_digits=5, decimal_places=2)]

ActionName = Literal["enter", "trim", "add", "update_sl", "trail_stop", "update", "exit", "share_exit"]


class _Body(BaseModel):
    model_config = ConfigDict(defer_build=True, extra="forbid")


class ContractIn(_Body):
    """The option: its OCC symbol, alone (`"O:SPY251219C00650000"`) or with parts it must agree with."""

    symbol: str = Field(min_length=1, max_length=32, examples=["O:SPY251219C00650000"])
    # Not given: taken from the symbol. Given: checked against it (a mismatch is a 422 naming the part).
    strike: Decimal | None = Field(default=None, gt=0, lt=100000, max_digits=12, decimal_places=3)
    expiry: date | None = None
    type: Side | None = None

    @field_validator("symbol")
    @classmethod
    def _ascii(cls, value: str) -> str:
        # Before the OCC parser upper-cases it: "O:ſPY…" must not become O:SPY….
        try:
            return ascii_identifier(value)
        except IdentifierError as error:
            raise ValueError(str(error)) from None


def _symbol_alone(value: object) -> object:
    return {"symbol": value} if isinstance(value, str) else value


OccText = Annotated[str, Field(min_length=1, max_length=32, examples=["O:SPY251219C00650000"])]
# The object, or the OCC symbol alone (the parts then taken from it); the document shows both.
ContractField = Annotated[ContractIn, BeforeValidator(_symbol_alone, json_schema_input_type=ContractIn | OccText)]


class TradeDraft(_Body):
    """A trade before it is saved: what `POST /api/trades` and a new-trade preview describe."""

    ticker: str = Field(min_length=1, max_length=16, examples=["SPY"])
    contract: ContractField
    entry_price: Premium | None = None
    current_price: Premium | None = None
    target_price: Premium | None = None
    stop_loss: Premium | None = None
    target_underlying: Level | None = None
    stop_underlying: Level | None = None
    quantity: Quantity | None = None
    trade_type: TradeType | None = None
    setup_type: Text100 | None = None
    notes: Notes | None = None
    confluence: Confluence | None = None
    greeks: Greeks | None = None
    # The quote when entering straight away: half the spread is the entry fill's slippage.
    bid: ExitPremium | None = None
    ask: ExitPremium | None = None


class TradeCreate(TradeDraft):
    """Body of `POST /api/trades`: load a trade, or enter it straight away."""

    action: Literal["load", "enter"]
    alert: AlertBlock | None = None


class ActionInputsBody(_Body):
    """The optional inputs of an action, shared by the action route and the preview."""

    price: ExitPremium | None = None
    stop_loss: Premium | None = None
    target_price: Premium | None = None
    trim_percent: TrimPercent | None = None
    quantity: Quantity | None = None
    bid: ExitPremium | None = None
    ask: ExitPremium | None = None
    comment: Comment | None = None


class TradeActionBody(ActionInputsBody):
    """Body of `POST /api/trades/<id>/actions`."""

    action: ActionName
    alert: AlertBlock | None = None


class TradePatch(_Body):
    """Body of `PATCH /api/trades/<id>`: the fields to change (null clears an optional one)."""

    ticker: str | None = Field(default=None, min_length=1, max_length=16)
    contract: ContractField | None = None
    entry_price: Premium | None = None
    current_price: Premium | None = None
    target_price: Premium | None = None
    stop_loss: Premium | None = None
    exit_price: ExitPremium | None = None
    target_underlying: Level | None = None
    stop_underlying: Level | None = None
    stop_mode: StopMode | None = None
    quantity: Quantity | None = None
    trade_type: TradeType | None = None
    setup_type: Text100 | None = None
    notes: Notes | None = None
    confluence: Confluence | None = None
    greeks: Greeks | None = None
    channel_ids: list[UUID] | None = Field(default=None, max_length=25)

    @model_validator(mode="after")
    def _something(self) -> TradePatch:
        if not self.model_fields_set:
            raise ValueError("name at least one field to change")
        return self


class TradeListQuery(_Body):
    """Query of `GET /api/trades`."""

    state: StoredState | None = None
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


class PreviewBody(ActionInputsBody):
    """Body of `POST /api/alerts/preview`: an action on a saved trade (`trade_id`) or a new one (`trade`)."""

    trade_id: UUID | None = None
    trade: TradeDraft | None = None
    action: AlertAction
    alert: AlertBlock = Field(default_factory=AlertBlock)

    @model_validator(mode="after")
    def _one_trade(self) -> PreviewBody:
        if (self.trade_id is None) == (self.trade is None):
            raise ValueError("give either trade_id (a saved trade) or trade (a new one)")
        return self
