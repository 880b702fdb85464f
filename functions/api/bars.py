"""`GET /api/bars/<symbol>`: stored historical bars, oldest first, as the web client's charts read them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint
from pydantic import BaseModel, ConfigDict

from functions.web import openapi
from functions.web.auth import current_user, requires_user
from functions.web.errors import Unprocessable
from functions.web.requests import parse_query
from functions.web.time_window import EARLIEST, TimeWindow
from shared.bars.store import datetime_to_ms, read_bars
from shared.bars.timeframes import Timeframe
from shared.db import user_tx
from shared.symbols import SymbolError, normalize_symbol

bp = Blueprint("bars", __name__)

# A window longer than this many bars returns its most recent ones.
MAX_BARS = 10_000
# With no `from`: this much history before `to`, per timeframe.
DEFAULT_SPAN: dict[str, timedelta] = {
    "1m": timedelta(days=1),
    "5m": timedelta(days=5),
    "15m": timedelta(days=10),
    "1h": timedelta(days=30),
    "1d": timedelta(days=365),
}


class BarsQuery(TimeWindow):
    """Query of `GET /api/bars/<symbol>`: `from`/`to` as epoch ms, `YYYY-MM-DD`, or ISO datetimes."""

    timeframe: Timeframe = "5m"


class Bar(BaseModel):
    """One bar as Massive gives it: `t` in epoch milliseconds, open/high/low/close, volume, VWAP, trades."""

    model_config = ConfigDict(defer_build=True)

    t: int
    o: float
    h: float
    l: float  # noqa: E741 - Massive's own field name
    c: float
    v: float
    vw: float | None
    n: int | None


class BarsResponse(BaseModel):
    """Body of `GET /api/bars/<symbol>`."""

    model_config = ConfigDict(defer_build=True)

    symbol: str
    timeframe: Timeframe
    bars: list[Bar]


def _bar(row: dict[str, Any]) -> Bar:
    return Bar(
        t=datetime_to_ms(row["ts"]),
        o=row["o"],
        h=row["h"],
        l=row["l"],
        c=row["c"],
        v=row["v"],
        vw=row["vw"],
        n=row["n"],
    )


@bp.get("/api/bars/<symbol>")
@openapi.operation(
    summary="Stored historical bars of a symbol, oldest first", tag="bars", response=BarsResponse, query=BarsQuery
)
@requires_user
def bars(symbol: str) -> BarsResponse:
    try:
        stored = normalize_symbol(symbol)
    except SymbolError as error:
        raise Unprocessable(str(error), field="symbol") from None
    query = parse_query(BarsQuery)
    end = query.end or datetime.now(UTC)
    start = query.start or max(end - DEFAULT_SPAN[query.timeframe], EARLIEST)
    if start > end:
        raise Unprocessable("`from` must not be after `to`", field="from")
    with user_tx(current_user()) as conn:
        rows = read_bars(conn, stored, query.timeframe, start, end, MAX_BARS)
    return BarsResponse(symbol=stored, timeframe=query.timeframe, bars=[_bar(row) for row in rows])


