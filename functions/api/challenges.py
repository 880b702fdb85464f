"""`/api/challenges…`: an admin's trading challenges, the trades linked to them, and their figures.

Each challenge's figures (balance, win rate, average R, …) are computed from the fills ledger of
its linked trades on every read (shared/challenges/figures.py); nothing is stored but the
challenge and its links. Row-level security keeps an admin to their own challenges and trades, so
another admin's ids answer 404 like ids that do not exist.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal
from uuid import UUID

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field, field_validator

from functions.api.trades.views import decimal_text
from functions.web import openapi
from functions.web.auth import current_user, requires_user
from functions.web.cursors import decode_cursor, encode_cursor
from functions.web.errors import NotFound, Unprocessable
from functions.web.requests import parse_body, parse_query
from shared.challenges import store
from shared.challenges.figures import ChallengeFigures, LinkedTrade, challenge_figures
from shared.db import Connection, user_tx
from shared.trades.dte import utc_now

bp = Blueprint("challenges", __name__)

Balance = Annotated[Decimal, Field(gt=0, lt=Decimal("1e12"), max_digits=14, decimal_places=2)]
Status = Literal["active", "archived"]
Scope = Literal["admin", "community"]
Money = str


def _name(value: str) -> str:
    stripped = value.strip()
    if not 1 <= len(stripped) <= 100:
        raise ValueError("a name is 1 to 100 characters")
    return stripped


class ChallengeCreate(BaseModel):
    """Body of `POST /api/challenges`."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    name: str
    starting_balance: Balance
    target_balance: Balance
    start_date: date
    end_date: date | None = None
    default_channel_id: UUID | None = None
    scope: Scope = "admin"

    @field_validator("name")
    @classmethod
    def _clean_name(cls, value: str) -> str:
        return _name(value)


class ChallengePatch(BaseModel):
    """Body of `PATCH /api/challenges/<id>`: the fields to change (null clears end_date or default_channel_id)."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    name: str | None = None
    starting_balance: Balance | None = None
    target_balance: Balance | None = None
    start_date: date | None = None
    end_date: date | None = None
    default_channel_id: UUID | None = None
    scope: Scope | None = None
    status: Status | None = None

    @field_validator("name")
    @classmethod
    def _clean_name(cls, value: str | None) -> str | None:
        return None if value is None else _name(value)


class ChallengeListQuery(BaseModel):
    """Query of `GET /api/challenges`."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    status: Status | None = None
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200)


class FiguresOut(BaseModel):
    """A challenge's figures (docs/challenges.md defines each); money and ratios as decimal strings."""

    model_config = ConfigDict(defer_build=True)

    current_balance: Money
    realized_pnl: Money
    open_pnl: Money
    balance_with_open: Money
    trades: int
    won: int
    lost: int
    flat: int
    open: int
    loaded: int
    open_unpriced: int
    win_rate: Money | None
    average_r: Money | None
    largest_win: Money | None
    largest_loss: Money | None
    progress_percent: Money
    target_reached: bool


class ChallengeOut(BaseModel):
    """A challenge with its linked trades and figures."""

    model_config = ConfigDict(defer_build=True)

    id: UUID
    name: str
    starting_balance: Money
    target_balance: Money
    start_date: date
    end_date: date | None
    status: Status
    default_channel_id: UUID | None
    scope: Scope
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    trade_ids: list[UUID]
    figures: FiguresOut


class ChallengeList(BaseModel):
    """Answer of `GET /api/challenges`, newest first."""

    model_config = ConfigDict(defer_build=True)

    challenges: list[ChallengeOut]
    next_cursor: str | None


def _figures_out(figures: ChallengeFigures) -> FiguresOut:
    values: dict[str, Any] = {}
    for name in FiguresOut.model_fields:
        value = getattr(figures, name)
        values[name] = decimal_text(value) if isinstance(value, Decimal) else value
    return FiguresOut.model_validate(values)


def _challenge_out(row: dict[str, Any], trade_ids: list[UUID], trades: list[LinkedTrade]) -> ChallengeOut:
    figures = challenge_figures(row["starting_balance"], row["target_balance"], trades)
    return ChallengeOut.model_validate(
        {
            **row,
            "starting_balance": decimal_text(row["starting_balance"]),
            "target_balance": decimal_text(row["target_balance"]),
            "trade_ids": trade_ids,
            "figures": _figures_out(figures),
        }
    )


def _answer(conn: Connection, rows: list[dict[str, Any]]) -> list[ChallengeOut]:
    ids = [row["id"] for row in rows]
    trade_ids = store.linked_trade_ids(conn, ids)
    trades = store.linked_trades(conn, ids)
    return [_challenge_out(row, trade_ids[row["id"]], trades[row["id"]]) for row in rows]


def _found(conn: Connection, challenge_id: UUID, *, lock: bool = False) -> dict[str, Any]:
    row = store.get_challenge(conn, challenge_id, lock=lock)
    if row is None:
        raise NotFound("no such challenge", field="challenge_id")
    return row


def _check(conn: Connection, values: dict[str, Any]) -> None:
    """The rules across fields, and the channel's owner, as 422s naming the field."""
    if values["target_balance"] <= values["starting_balance"]:
        raise Unprocessable("target_balance: must be above starting_balance", field="target_balance")
    if values.get("end_date") is not None and values["end_date"] < values["start_date"]:
        raise Unprocessable("end_date: must be on or after start_date", field="end_date")
    channel = values.get("default_channel_id")
    if channel is not None and not store.own_channel(conn, channel):
        raise Unprocessable(f"default_channel_id: channel {channel} is not one of your channels",
                            field="default_channel_id")


@bp.post("/api/challenges")
@openapi.operation(
    summary="Start a challenge", tag="challenges", response=ChallengeOut, status=201, body=ChallengeCreate
)
@requires_user
def create_challenge() -> tuple[ChallengeOut, int]:
    body = parse_body(ChallengeCreate)
    values = body.model_dump()
    with user_tx(current_user()) as conn:
        _check(conn, values)
        row = store.insert_challenge(conn, values)
        return _challenge_out(row, [], []), 201


@bp.get("/api/challenges")
@openapi.operation(
    summary="The admin's challenges with their figures, newest first", tag="challenges", response=ChallengeList,
    query=ChallengeListQuery,
)
@requires_user
def list_challenges() -> ChallengeList:
    query = parse_query(ChallengeListQuery)
    after = decode_cursor(query.cursor) if query.cursor else None
    with user_tx(current_user()) as conn:
        rows = store.list_challenges(conn, status=query.status, limit=query.limit + 1, after=after)
        page = rows[: query.limit]
        answers = _answer(conn, page)
    more = len(rows) > query.limit and page
    cursor = encode_cursor(page[-1]["created_at"], page[-1]["id"]) if more else None
    return ChallengeList(challenges=answers, next_cursor=cursor)


@bp.get("/api/challenges/<uuid:challenge_id>")
@openapi.operation(summary="A challenge, its linked trades and its figures", tag="challenges", response=ChallengeOut)
@requires_user
def get_challenge(challenge_id: UUID) -> ChallengeOut:
    with user_tx(current_user()) as conn:
        return _answer(conn, [_found(conn, challenge_id)])[0]


@bp.patch("/api/challenges/<uuid:challenge_id>")
@openapi.operation(
    summary="Edit a challenge (or set its status)", tag="challenges", response=ChallengeOut, body=ChallengePatch
)
@requires_user
def edit_challenge(challenge_id: UUID) -> ChallengeOut:
    body = parse_body(ChallengePatch)
    given = body.model_fields_set
    for name in sorted(given - {"end_date", "default_channel_id"}):
        if getattr(body, name) is None:
            raise Unprocessable(f"{name}: cannot be cleared", field=name)
    changes = {name: getattr(body, name) for name in given}
    with user_tx(current_user()) as conn:
        row = _found(conn, challenge_id, lock=True)
        _check(conn, {**row, **changes, "default_channel_id": changes.get("default_channel_id")})
        if changes:
            row = store.update_challenge(conn, challenge_id, changes, utc_now())
        return _answer(conn, [row])[0]


@bp.post("/api/challenges/<uuid:challenge_id>/archive")
@openapi.operation(summary="Archive a challenge (its figures stay)", tag="challenges", response=ChallengeOut)
@requires_user
def archive_challenge(challenge_id: UUID) -> ChallengeOut:
    with user_tx(current_user()) as conn:
        row = _found(conn, challenge_id, lock=True)
        if row["status"] != "archived":
            row = store.update_challenge(conn, challenge_id, {"status": "archived"}, utc_now())
        return _answer(conn, [row])[0]


@bp.put("/api/challenges/<uuid:challenge_id>/trades/<uuid:trade_id>")
@openapi.operation(
    summary="Link one of the admin's trades to the challenge (a trade may be in several)", tag="challenges",
    response=ChallengeOut,
)
@requires_user
def link_trade(challenge_id: UUID, trade_id: UUID) -> ChallengeOut:
    with user_tx(current_user()) as conn:
        row = _found(conn, challenge_id, lock=True)
        if not store.trade_exists(conn, trade_id):
            raise NotFound("no such trade", field="trade_id")
        store.link_trade(conn, challenge_id, trade_id)
        return _answer(conn, [row])[0]


@bp.delete("/api/challenges/<uuid:challenge_id>/trades/<uuid:trade_id>")
@openapi.operation(summary="Unlink a trade from the challenge", tag="challenges", response=None, status=204)
@requires_user
def unlink_trade(challenge_id: UUID, trade_id: UUID) -> tuple[str, int]:
    with user_tx(current_user()) as conn:
        _found(conn, challenge_id, lock=True)
        if not store.unlink_trade(conn, challenge_id, trade_id):
            raise NotFound("the trade is not linked to this challenge", field="trade_id")
    return "", 204
