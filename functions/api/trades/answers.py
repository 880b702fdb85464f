"""The trades API's answers as pydantic models: what `functions.api.trades.views` builds, described exactly.

The OpenAPI document shows these, and `functions.web.openapi.operation` checks every answer against
its model before it leaves, so a view that changes shape fails its tests instead of the document
quietly going stale. Money and percentages are decimal strings ("1.20").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict

from functions.api.trades.quoted import SnapshotQuote
from shared.delivery.outbox import DeliveryOut
from shared.trades.sources import PriceSource

Money = str


class _Answer(BaseModel):
    # Every key the view writes is described here; an undescribed one is a failed check.
    model_config = ConfigDict(defer_build=True, extra="forbid")


class ContractOut(_Answer):
    symbol: str
    strike: Money
    expiry: str
    type: Literal["call", "put"]


class RiskRewardOut(_Answer):
    ratio: Money
    rating: str


class PnlOut(_Answer):
    """The position's P&L from its fills at the mark (the exit once exited); only `mark` before entry."""

    mark: Money | None
    open_quantity: Money | None
    average_cost: Money | None
    cost_basis: Money | None
    realized: Money | None
    unrealized: Money | None
    gross: Money | None
    fees: Money | None
    slippage: Money | None
    net: Money | None
    position_percent: Money | None
    net_percent: Money | None
    trimmed_percent: Money | None
    result: Literal["win", "loss", "flat"] | None


class TradeOut(_Answer):
    """A trade as the API shows it."""

    id: UUID
    ticker: str
    contract: ContractOut
    underlying: str
    trade_type: str
    state: str
    version: int
    # Days to expiry while the contract trades; null once it stopped trading (`expired`).
    dte: int | None
    expired: bool
    quantity: int
    entry_price: Money | None
    current_price: Money | None
    target_price: Money | None
    stop_loss: Money | None
    exit_price: Money | None
    target_underlying: Money | None
    stop_underlying: Money | None
    stop_mode: str
    setup_type: str | None
    notes: str | None
    confluence: dict[str, Any] | None
    greeks: dict[str, Any] | None
    risk_reward: RiskRewardOut | None
    pnl: PnlOut
    channel_ids: list[UUID]
    created_at: datetime | None
    updated_at: datetime | None
    loaded_at: datetime | None
    entered_at: datetime | None
    exited_at: datetime | None


class UpdateOut(_Answer):
    """One action on a trade, as recorded."""

    id: UUID
    trade_id: UUID
    type: str
    price: Money | None
    message: str | None
    pnl_percent: Money | None
    trim_percent: Money | None
    quantity: int | None
    created_at: datetime | None


class FillOut(_Answer):
    """One buy or sell of the position; fee and slippage in dollars."""

    id: UUID
    update_id: UUID | None
    side: Literal["buy", "sell"]
    contracts: Money
    price: Money
    fee: Money
    slippage: Money
    at: datetime | None


class AlertOut(_Answer):
    """An alert with its payload exactly as sent and its deliveries' status."""

    id: UUID
    trade_id: UUID
    trade_update_id: UUID | None
    action: str
    payload: dict[str, Any]
    preset: str | None
    fields: dict[str, Any]
    channel_ids: list[UUID]
    created_at: datetime | None
    deliveries: list[DeliveryOut]


class TradeAnswer(_Answer):
    """Answer of an action (and of `POST /api/trades`): the trade after it, its update, its alert if sent."""

    trade: TradeOut
    update: UpdateOut
    alert: AlertOut | None


class PriceSourcesOut(_Answer):
    """Where each price came from: the body (`request`), the alert composer's edit (`alert`), the contract's
    mid in Massive's snapshot (`snapshot`), the entry fill (`entry`) or the default by DTE (`default`)."""

    entry_price: PriceSource | None
    current_price: PriceSource | None
    target_price: PriceSource | None
    stop_loss: PriceSource | None


class TradeCreated(TradeAnswer):
    """Answer of `POST /api/trades`: also where each price came from, and the snapshot quoted (if any)."""

    price_sources: PriceSourcesOut
    snapshot: SnapshotQuote | None


class TradeList(_Answer):
    """Answer of `GET /api/trades`: newest first; `next_cursor` fetches the next page."""

    trades: list[TradeOut]
    next_cursor: str | None


class TradeDetail(_Answer):
    """Answer of `GET /api/trades/<id>`: the trade, its updates, its fills and its alerts, oldest first."""

    trade: TradeOut
    updates: list[UpdateOut]
    fills: list[FillOut]
    alerts: list[AlertOut]


class TradeEdited(_Answer):
    """Answer of `PATCH /api/trades/<id>`."""

    trade: TradeOut
