"""`/api/signals`: the scanner's signals for the signed-in admin (own rows only, by RLS), and dismissing one."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from uuid import UUID

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field, field_validator

from functions.web import openapi
from functions.web.auth import current_user, requires_user
from functions.web.errors import NotFound
from functions.web.requests import parse_body, parse_query
from shared.db import user_tx
from shared.symbols import SymbolError, normalize_symbol

bp = Blueprint("signals", __name__)

MAX_LIMIT = 500

# An active signal past its expiry reads as expired even before a scan has marked it (the scanner
# only runs in market hours).
_STATUS = "(case when status = 'active' and expires_at <= now() then 'expired' else status end)"
_COLUMNS = (
    "id, symbol, detector, direction, style, score, factors, entry, stop, targets, rr, bar_time,"
    f" {_STATUS} as status, created_at, expires_at, alerted_at"
)


class SignalsQuery(BaseModel):
    """Query of `GET /api/signals`."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    symbol: str | None = None
    status: Literal["active", "expired", "dismissed"] | None = None
    limit: int = Field(default=100, ge=1, le=MAX_LIMIT)

    @field_validator("symbol")
    @classmethod
    def _normalise(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            return normalize_symbol(value)
        except SymbolError as error:
            raise ValueError(str(error)) from None


class SignalPatch(BaseModel):
    """Body of `PATCH /api/signals/<id>`: dismissing is the only change an admin makes."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    status: Literal["dismissed"]


class FactorOut(BaseModel):
    """One reason behind a signal: a 0-100 value, its weight in the score, and what it means."""

    model_config = ConfigDict(defer_build=True)

    key: str
    label: str
    value: float
    weight: float


class SignalOut(BaseModel):
    """A signal as the API shows it; `bar_time` is the start of the bar that triggered it."""

    model_config = ConfigDict(defer_build=True)

    id: UUID
    symbol: str
    detector: str
    direction: Literal["long", "short"]
    style: Literal["scalp", "day", "swing"]
    score: float
    factors: list[FactorOut]
    entry: float
    stop: float
    targets: list[float]
    rr: float
    bar_time: datetime
    status: Literal["active", "expired", "dismissed"]
    created_at: datetime
    expires_at: datetime
    alerted_at: datetime | None


class SignalList(BaseModel):
    """Body of `GET /api/signals`."""

    model_config = ConfigDict(defer_build=True)

    signals: list[SignalOut]


class SignalAnswer(BaseModel):
    """Body of `PATCH /api/signals/<id>`."""

    model_config = ConfigDict(defer_build=True)

    signal: SignalOut


def _number(value: Any) -> float:
    return float(value) if isinstance(value, Decimal) else value


def signal_view(row: dict[str, Any]) -> SignalOut:
    """A stored signal row as the API shows it."""
    return SignalOut(
        id=row["id"],
        symbol=row["symbol"],
        detector=row["detector"],
        direction=row["direction"],
        style=row["style"],
        score=_number(row["score"]),
        factors=[FactorOut.model_validate(f) for f in row["factors"]],
        entry=_number(row["entry"]),
        stop=_number(row["stop"]),
        targets=[_number(t) for t in row["targets"]],
        rr=_number(row["rr"]),
        bar_time=row["bar_time"],
        status=row["status"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        alerted_at=row["alerted_at"],
    )


@bp.get("/api/signals")
@openapi.operation(
    summary="The admin's scanner signals, newest bar first", tag="signals", response=SignalList, query=SignalsQuery
)
@requires_user
def list_signals() -> SignalList:
    query = parse_query(SignalsQuery)
    with user_tx(current_user()) as conn:
        rows = conn.execute(
            f"select {_COLUMNS} from composite_signals"  # noqa: S608 - fixed column list
            " where (%(symbol)s::text is null or symbol = %(symbol)s)"
            f" and (%(status)s::text is null or {_STATUS} = %(status)s)"
            " order by bar_time desc, created_at desc, id limit %(limit)s",
            {"symbol": query.symbol, "status": query.status, "limit": query.limit},
        ).fetchall()
    return SignalList(signals=[signal_view(r) for r in rows])


@bp.patch("/api/signals/<uuid:signal_id>")
@openapi.operation(
    summary="Dismiss one of the admin's signals", tag="signals", response=SignalAnswer, body=SignalPatch
)
@requires_user
def dismiss_signal(signal_id: UUID) -> SignalAnswer:
    body = parse_body(SignalPatch)
    with user_tx(current_user()) as conn:
        row = conn.execute(
            f"update composite_signals set status = %s where id = %s returning {_COLUMNS}",  # noqa: S608
            (body.status, signal_id),
        ).fetchone()
    if row is None:
        raise NotFound("no such signal", field="signal_id")
    return SignalAnswer(signal=signal_view(row))
