"""`/api/watchlist`: an admin's watched symbols, through the database's row-level security."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, field_validator

from functions.auth import current_user, requires_user
from functions.bodies import parse_body
from functions.errors import Conflict, NotFound, Unprocessable
from functions.lambda_adapter import lambda_handler
from shared.db import user_tx
from shared.symbols import SymbolError, normalize_symbol

bp = Blueprint("watchlist", __name__)
handler = lambda_handler(bp)


class WatchlistAdd(BaseModel):
    """Body of `POST /api/watchlist`."""

    model_config = ConfigDict(extra="forbid")

    symbol: str

    @field_validator("symbol")
    @classmethod
    def _normalise(cls, value: str) -> str:
        try:
            return normalize_symbol(value)
        except SymbolError as error:
            raise ValueError(str(error)) from None


def _item(row: dict[str, Any]) -> dict[str, Any]:
    return {"symbol": row["symbol"], "added_at": row["added_at"].isoformat()}


@bp.get("/api/watchlist")
@requires_user
def list_watchlist() -> dict[str, Any]:
    with user_tx(current_user()) as conn:
        rows = conn.execute("select symbol, added_at from watchlist order by added_at, id").fetchall()
    return {"items": [_item(row) for row in rows]}


@bp.post("/api/watchlist")
@requires_user
def add_to_watchlist() -> tuple[dict[str, Any], int]:
    body = parse_body(WatchlistAdd)
    with user_tx(current_user()) as conn:
        row = conn.execute(
            "insert into watchlist (symbol) values (%s) on conflict (user_id, symbol) do nothing"
            " returning symbol, added_at",
            (body.symbol,),
        ).fetchone()
    if row is None:
        raise Conflict(f"{body.symbol} is already on your watchlist", field="symbol", code="duplicate")
    return _item(row), 201


@bp.delete("/api/watchlist/<symbol>")
@requires_user
def remove_from_watchlist(symbol: str) -> tuple[str, int]:
    try:
        stored = normalize_symbol(symbol)
    except SymbolError as error:
        raise Unprocessable(str(error), field="symbol") from None
    with user_tx(current_user()) as conn:
        deleted = conn.execute("delete from watchlist where symbol = %s", (stored,)).rowcount
    if not deleted:
        raise NotFound(f"{stored} is not on your watchlist", field="symbol")
    return "", 204
