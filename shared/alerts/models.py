"""The `alert` block admins send with an action, a new trade or a preview."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from shared.alerts.presets import FieldKey, PresetName
from shared.trades.models import Level, Premium


class AlertPrices(BaseModel):
    """Prices the admin edited in the composer; they apply to the trade before it is rendered and saved."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    entry: Premium | None = None
    current: Premium | None = None
    target: Premium | None = None
    stop: Premium | None = None
    target_underlying: Level | None = None
    stop_underlying: Level | None = None


class AlertBlock(BaseModel):
    """How to compose (and whether to send) the alert of one action."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    send: bool = False
    channel_ids: list[UUID] | None = Field(default=None, max_length=25)
    preset: PresetName | None = None
    fields: dict[FieldKey, bool] | None = None
    prices: AlertPrices | None = None
    comment: str | None = Field(default=None, max_length=4096)
