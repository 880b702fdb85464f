"""`/api/watchlist`: an admin's watched symbols, through the database's row-level security."""

from __future__ import annotations

from datetime import datetime

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, field_validator

from functions.web import openapi
from functions.web.auth import current_user, requires_user
from functions.web.errors import Conflict, NotFound, Unprocessable
from functions.web.requests import parse_body
from shared.db import user_tx
from shared.symbols import SymbolError, normalize_symbol

bp = Blueprint("watchlist", __name__)


class WatchlistAdd(BaseModel):
    """Body of `POST /api/watchlist`."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    symbol: str

    @field_validator("symbol")
    @classmethod
    def _normalise(cls, value: str) -> str:
        try:
            return normalize_symbol(value)
        except SymbolError as error:
            raise ValueError(str(error)) from None


class WatchlistItem(BaseModel):
    """A watched symbol (indices as `I:SPX`)."""

    model_config = ConfigDict(defer_build=True)

    symbol: str
    added_at: datetime


class Watchlist(BaseModel):
    """Answer of `GET /api/watchlist`, oldest first."""

    model_config = ConfigDict(defer_build=True)

    items: list[WatchlistItem]


@bp.get("/api/watchlist")
@openapi.operation(summary="The admin's watched symbols", tag="watchlist", response=Watchlist)
@requires_user
def list_watchlist() -> Watchlist:
    with user_tx(current_user()) as conn:
        rows = conn.execute("select symbol, added_at from watchlist order by added_at, id").fetchall()
    return Watchlist(items=[WatchlistItem.model_validate(row) for row in rows])


@bp.post("/api/watchlist")
@openapi.operation(
    summary="Watch a symbol (tickers NFKC-normalised, ASCII only)", tag="watchlist", response=WatchlistItem,
    status=201, body=WatchlistAdd, errors=(409,),
)
@requires_user
def add_to_watchlist() -> WatchlistItem:
    body = parse_body(WatchlistAdd)
    with user_tx(current_user()) as conn:
        row = conn.execute(
            "insert into watchlist (symbol) values (%s) on conflict (user_id, symbol) do nothing"
            " returning symbol, added_at",
            (body.symbol,),
        ).fetchone()
    if row is None:
        raise Conflict(f"{body.symbol} is already on your watchlist", field="symbol", code="duplicate")
    return WatchlistItem.model_validate(row)


@bp.delete("/api/watchlist/<symbol>")
@openapi.operation(summary="Stop watching a symbol", tag="watchlist", response=None, status=204, errors=(422,))
@requires_user
def remove_from_watchlist(symbol: str) -> None:
    try:
        stored = normalize_symbol(symbol)
    except SymbolError as error:
        raise Unprocessable(str(error), field="symbol") from None
    with user_tx(current_user()) as conn:
        deleted = conn.execute("delete from watchlist where symbol = %s", (stored,)).rowcount
    if not deleted:
        raise NotFound(f"{stored} is not on your watchlist", field="symbol")
