"""A `from`/`to` query window, as the chart routes take it: epoch ms, `YYYY-MM-DD`, or ISO datetimes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

from pydantic import BaseModel, ConfigDict, Field, field_validator

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)


def instant(value: object) -> object:
    """Epoch milliseconds (as Massive gives `t`), an ISO date (midnight UTC), or an ISO datetime (UTC when naive)."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.isdigit():
        if len(text) > 14:
            raise ValueError("epoch milliseconds out of range")
        return datetime.fromtimestamp(int(text) / 1000, tz=UTC)
    if len(text) == 10:
        return datetime.combine(date.fromisoformat(text), time(), UTC)
    parsed = datetime.fromisoformat(text)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


class TimeWindow(BaseModel):
    """`from` and `to`, each optional, between 1970 and 2100 (the route checks their order once defaulted)."""

    model_config = ConfigDict(defer_build=True, extra="forbid", populate_by_name=True)

    start: datetime | None = Field(default=None, alias="from")
    end: datetime | None = Field(default=None, alias="to")

    @field_validator("start", "end", mode="before")
    @classmethod
    def _parse(cls, value: object) -> object:
        try:
            return instant(value)
        except (ValueError, OverflowError, OSError):
            raise ValueError("expected epoch milliseconds, YYYY-MM-DD, or an ISO datetime") from None

    @field_validator("start", "end", mode="after")
    @classmethod
    def _in_range(cls, value: datetime | None) -> datetime | None:
        if value is not None and not EARLIEST <= value <= LATEST:
            raise ValueError("must be between 1970 and 2100")
        return value
