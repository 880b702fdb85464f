"""`GET /api/gamma/<symbol>`, `/history` and `/chart.png`: the stored gamma exposure snapshots.

The symbol is accepted as admins write it (`SPX`, `I:SPX`, `spy`) and answered in stored form.
Dollar figures are plain numbers (dollars of delta per 1 % move). Nothing here needs numpy or
matplotlib: the chart is drawn by the gamma job and served as stored bytes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

from flask import Blueprint, Response, request
from pydantic import BaseModel, ConfigDict, Field

from functions.web import openapi
from functions.web.auth import current_user, requires_user
from functions.web.errors import NotFound, Unprocessable
from functions.web.requests import parse_query
from functions.web.time_window import EARLIEST, TimeWindow
from shared.db import user_tx
from shared.gamma.figures import GammaFigures, View
from shared.gamma.store import STRIKE_FIELDS, latest_chart, latest_snapshot, snapshot_history
from shared.symbols import SymbolError, normalize_symbol

bp = Blueprint("gamma_snapshots", __name__)

# A history window longer than this is refused: 31 days of 5-minute snapshots is ~2,400 rows.
MAX_HISTORY_SPAN = timedelta(days=31)
MAX_HISTORY_ROWS = 10_000
DEFAULT_HISTORY_SPAN = timedelta(days=1)


def stored_symbol(raw: str) -> str:
    """`SPX`, `I:SPX`, `$spx` → `I:SPX`; 422 naming `symbol` for anything that is not a ticker."""
    # str.upper() folds some non-ASCII letters into ASCII ones ("ſpy" → "SPY"): refuse them first.
    if not raw.isascii() or len(raw) > 16:
        raise Unprocessable(f"{raw[:20]!r} is not a ticker", field="symbol")
    try:
        return normalize_symbol(raw)
    except SymbolError as error:
        raise Unprocessable(str(error), field="symbol") from None


class GammaQuery(BaseModel):
    """Query of `GET /api/gamma/<symbol>` and its chart: which view."""

    model_config = ConfigDict(defer_build=True, extra="forbid")

    view: View = "all"


class GammaHistoryQuery(TimeWindow):
    """Query of `GET /api/gamma/<symbol>/history`: a window of at most 31 days (default the last day)."""

    view: View = "all"


class StrikeBody(BaseModel):
    """One strike's sums; null where a figure could not be stored as a number."""

    model_config = ConfigDict(defer_build=True)

    strike: float | None
    call_gex: float | None
    put_gex: float | None
    net_gex: float | None
    call_oi: float | None
    put_oi: float | None
    call_volume: float | None = None
    put_volume: float | None = None


class SnapshotBody(GammaFigures):
    """The latest snapshot of one view; dollars of delta per 1 % move, calls positive, puts negative."""

    symbol: str
    view: View
    taken_at: datetime
    age_s: float
    strikes: list[StrikeBody]


class GammaResponse(BaseModel):
    """Body of `GET /api/gamma/<symbol>`."""

    model_config = ConfigDict(defer_build=True)

    snapshot: SnapshotBody


class HistoryPoint(GammaFigures):
    taken_at: datetime
    gamma_scale: float


class GammaHistoryResponse(BaseModel):
    """Body of `GET /api/gamma/<symbol>/history`: totals and levels, oldest first."""

    model_config = ConfigDict(defer_build=True, populate_by_name=True)

    symbol: str
    view: View
    start: datetime = Field(alias="from")
    end: datetime = Field(alias="to")
    snapshots: list[HistoryPoint]


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _latest(symbol: str, view: View) -> dict[str, Any]:
    with user_tx(current_user()) as conn:
        row = latest_snapshot(conn, symbol, view)
    if row is None:
        raise NotFound(f"no gamma snapshot of {symbol} ({view}) yet", field="symbol")
    return row


def _strike_rows(columns: dict[str, list[float]]) -> list[dict[str, float]]:
    present = [name for name in STRIKE_FIELDS if name in columns]
    return [dict(zip(present, values, strict=True)) for values in zip(*(columns[n] for n in present), strict=False)]


@bp.get("/api/gamma/<symbol>")
@openapi.operation(
    summary="The latest gamma exposure snapshot of a symbol", tag="gamma", response=GammaResponse, query=GammaQuery
)
@requires_user
def gamma(symbol: str) -> dict[str, Any]:
    stored = stored_symbol(symbol)
    query = parse_query(GammaQuery)
    row = _latest(stored, query.view)
    age = (datetime.now(UTC) - row["taken_at"]).total_seconds()
    return {
        "snapshot": {
            "symbol": row["symbol"],
            "view": row["view"],
            "taken_at": _iso(row["taken_at"]),
            "age_s": round(max(age, 0.0), 1),
            "spot": row["spot"],
            "net_gex": row["net_gex"],
            "call_gex": row["call_gex"],
            "put_gex": row["put_gex"],
            "call_wall": row["call_wall"],
            "put_wall": row["put_wall"],
            "zero_gamma": row["zero_gamma"],
            "max_pain": row["max_pain"],
            "contracts": row["contracts"],
            "contracts_without_greeks": row["contracts_without_greeks"],
            "contracts_without_open_interest": row["contracts_without_open_interest"],
            "gamma_unit_ratio": row["gamma_unit_ratio"],
            "strikes": _strike_rows(row["strikes"]),
        }
    }


@bp.get("/api/gamma/<symbol>/history")
@openapi.operation(
    summary="A symbol's gamma totals and levels over time, oldest first", tag="gamma",
    response=GammaHistoryResponse, query=GammaHistoryQuery,
)
@requires_user
def gamma_history(symbol: str) -> dict[str, Any]:
    stored = stored_symbol(symbol)
    query = parse_query(GammaHistoryQuery)
    end = query.end or datetime.now(UTC)
    start = query.start or max(end - DEFAULT_HISTORY_SPAN, EARLIEST)
    if start > end:
        raise Unprocessable("`from` must not be after `to`", field="from")
    if end - start > MAX_HISTORY_SPAN:
        raise Unprocessable(f"the window from `from` to `to` is limited to {MAX_HISTORY_SPAN.days} days", field="from")
    with user_tx(current_user()) as conn:
        rows = snapshot_history(conn, stored, query.view, start, end, MAX_HISTORY_ROWS)
    series = [{**row, "taken_at": _iso(row["taken_at"])} for row in rows]
    return {"symbol": stored, "view": query.view, "from": _iso(start), "to": _iso(end), "snapshots": series}


@bp.get("/api/gamma/<symbol>/chart.png")
@openapi.operation(
    summary="The per-strike net GEX profile as a PNG, spot, walls and zero gamma marked", tag="gamma",
    response=None, query=GammaQuery, content_type="image/png", headers=("If-None-Match",), also=(304,),
)
@requires_user
def gamma_chart(symbol: str) -> Response:
    stored = stored_symbol(symbol)
    query = parse_query(GammaQuery)
    with user_tx(current_user()) as conn:
        chart = latest_chart(conn, stored, query.view)
    if chart is None:
        _latest(stored, query.view)  # 404 not_found when there is no snapshot at all
        raise NotFound(
            f"the chart of {stored} ({query.view}) is not drawn yet; the gamma job draws it on its next run",
            field="symbol", code="chart_not_drawn",
        )
    # The chart of a snapshot never changes: its sha256 is a strong validator, and a client's copy is
    # good until the next snapshot (the job's interval), then revalidated with If-None-Match.
    headers = {
        "ETag": f'"{chart["etag"]}"',
        "Cache-Control": "private, max-age=60, must-revalidate",
        "Last-Modified": format_datetime(chart["taken_at"].astimezone(UTC), usegmt=True),
    }
    if request.if_none_match.contains(chart["etag"]):
        return Response(status=304, headers=headers)
    return Response(bytes(chart["png"]), mimetype="image/png", headers=headers)
