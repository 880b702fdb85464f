"""Trades, updates, alerts and linked channels in Postgres, on the caller's connection (RLS applies).

Nothing here commits: every function runs inside the caller's `user_tx`, so an action's trade,
update, alert and deliveries are written together or not at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from shared.trades.ledger import Fill
from shared.trades.models import StoredState, Trade, UpdateDraft

Conn = psycopg.Connection[dict[str, Any]]

# Everything the core's Trade holds, in column form.
_COLUMNS = (
    "id, ticker, contract, underlying, strike, expiry, side, trade_type, state, quantity, entry_price,"
    " current_price, target_price, stop_loss, exit_price, target_underlying, stop_underlying, stop_mode,"
    " setup_type, notes, confluence, greeks, version, created_at,"
    " updated_at, loaded_at, entered_at, exited_at"
)
_MUTABLE = (
    "ticker", "contract", "underlying", "strike", "expiry", "side", "trade_type", "state", "quantity",
    "entry_price", "current_price", "target_price", "stop_loss", "exit_price", "target_underlying",
    "stop_underlying", "stop_mode", "setup_type", "notes",
    "confluence", "greeks", "loaded_at", "entered_at", "exited_at",
)
_JSON_COLUMNS = frozenset({"confluence", "greeks"})
TRADE_SELECT = f"select {_COLUMNS} from trades"  # noqa: S608 - fixed column list
UPDATE_COLUMNS = "id, trade_id, type, price, message, pnl_percent, trim_percent, quantity, created_at"
FILL_COLUMNS = "id, trade_id, trade_update_id, side, contracts, price, fee, slippage, at"
ALERT_COLUMNS = "id, trade_id, trade_update_id, action, payload, preset, fields, channel_ids, created_at"


def trade_from_row(row: dict[str, Any]) -> Trade:
    """A database row as the core's Trade."""
    return Trade.model_validate(row)


def _value(trade: Trade, column: str) -> Any:
    value = getattr(trade, column)
    if column in _JSON_COLUMNS:
        return Jsonb(value.model_dump(mode="json")) if value is not None else None
    return value


def get_trade(conn: Conn, trade_id: UUID, *, lock: bool = False) -> Trade | None:
    """The trade if the user may see it; `lock` holds its row until the transaction ends."""
    suffix = " for update" if lock else ""
    row = conn.execute(f"{TRADE_SELECT} where id = %s{suffix}", (trade_id,)).fetchone()
    return trade_from_row(row) if row else None


def insert_trade(conn: Conn, trade: Trade, now: datetime) -> Trade:
    """Store a new trade (its state must be one the database keeps)."""
    columns = ", ".join(_MUTABLE)
    marks = ", ".join(["%s"] * len(_MUTABLE))
    row = conn.execute(
        f"insert into trades ({columns}, created_at, updated_at) values ({marks}, %s, %s)"  # noqa: S608
        f" returning {_COLUMNS}",
        (*(_value(trade, c) for c in _MUTABLE), now, now),
    ).fetchone()
    assert row is not None
    return trade_from_row(row)


def save_trade(conn: Conn, trade: Trade, now: datetime) -> Trade:
    """Write every field of an existing trade and bump its version."""
    assignments = ", ".join(f"{c} = %s" for c in _MUTABLE)
    row = conn.execute(
        f"update trades set {assignments}, updated_at = %s, version = version + 1"  # noqa: S608
        f" where id = %s returning {_COLUMNS}",
        (*(_value(trade, c) for c in _MUTABLE), now, trade.id),
    ).fetchone()
    assert row is not None
    return trade_from_row(row)


def delete_trade(conn: Conn, trade_id: UUID) -> None:
    """Delete a trade; its updates, alerts and links go with it."""
    conn.execute("delete from trades where id = %s", (trade_id,))


def insert_update(conn: Conn, trade_id: UUID, draft: UpdateDraft, now: datetime) -> dict[str, Any]:
    """Write the trade-update row of an action."""
    row = conn.execute(
        "insert into trade_updates (trade_id, type, price, message, pnl_percent, trim_percent, quantity,"  # noqa: S608
        f" created_at) values (%s, %s, %s, %s, %s, %s, %s, %s) returning {UPDATE_COLUMNS}",
        (trade_id, draft.type, draft.price, draft.message, draft.pnl_percent, draft.trim_percent,
         draft.quantity, now),
    ).fetchone()
    assert row is not None
    return row


def fill_from_row(row: dict[str, Any]) -> Fill:
    """A stored fill as the core's Fill."""
    return Fill(row["side"], row["contracts"], row["price"], row["fee"], row["slippage"])


def list_fills(conn: Conn, trade_id: UUID) -> list[dict[str, Any]]:
    """A trade's fills in the order they happened."""
    return conn.execute(
        f"select {FILL_COLUMNS} from trade_fills where trade_id = %s order by seq",  # noqa: S608
        (trade_id,),
    ).fetchall()


def fills_by_trade(conn: Conn, trade_ids: Sequence[UUID]) -> dict[UUID, list[Fill]]:
    """The fills of several trades at once, each in order."""
    result: dict[UUID, list[Fill]] = {t: [] for t in trade_ids}
    if not trade_ids:
        return result
    rows = conn.execute(
        f"select {FILL_COLUMNS} from trade_fills where trade_id = any(%s) order by seq",  # noqa: S608
        (list(trade_ids),),
    ).fetchall()
    for row in rows:
        result[row["trade_id"]].append(fill_from_row(row))
    return result


def insert_fills(
    conn: Conn, trade_id: UUID, update_id: UUID | None, fills: Sequence[Fill], now: datetime
) -> None:
    """Write an action's fills."""
    for fill in fills:
        conn.execute(
            "insert into trade_fills (trade_id, trade_update_id, side, contracts, price, fee, slippage, at)"
            " values (%s, %s, %s, %s, %s, %s, %s, %s)",
            (trade_id, update_id, fill.side, fill.contracts, fill.price, fill.fee, fill.slippage, now),
        )


def correct_fills(conn: Conn, stored: Sequence[dict[str, Any]], corrected: dict[int, Fill]) -> None:
    """Rewrite the fills at the given ledger positions (an edited entry or exit price)."""
    for index, fill in sorted(corrected.items()):
        conn.execute(
            "update trade_fills set side = %s, contracts = %s, price = %s, fee = %s, slippage = %s where id = %s",
            (fill.side, fill.contracts, fill.price, fill.fee, fill.slippage, stored[index]["id"]),
        )


def list_updates(conn: Conn, trade_id: UUID) -> list[dict[str, Any]]:
    """A trade's updates, oldest first."""
    return conn.execute(
        f"select {UPDATE_COLUMNS} from trade_updates where trade_id = %s order by seq",  # noqa: S608
        (trade_id,),
    ).fetchall()


def insert_alert(
    conn: Conn,
    *,
    trade_id: UUID,
    update_id: UUID,
    action: str,
    payload: dict[str, Any],
    preset: str | None,
    fields: dict[str, bool],
    channel_ids: Sequence[UUID],
    now: datetime,
) -> dict[str, Any]:
    """Store an alert with its payload exactly as it will be sent."""
    row = conn.execute(
        "insert into alerts (trade_id, trade_update_id, action, payload, preset, fields, channel_ids, created_at)"  # noqa: S608
        f" values (%s, %s, %s, %s, %s, %s, %s, %s) returning {ALERT_COLUMNS}",
        (trade_id, update_id, action, Jsonb(payload), preset, Jsonb(fields), list(channel_ids), now),
    ).fetchone()
    assert row is not None
    return row


def list_alerts(conn: Conn, trade_id: UUID) -> list[dict[str, Any]]:
    """A trade's alerts, oldest first."""
    return conn.execute(
        f"select {ALERT_COLUMNS} from alerts where trade_id = %s order by seq",  # noqa: S608
        (trade_id,),
    ).fetchall()


def linked_channels(conn: Conn, trade_id: UUID) -> list[UUID]:
    """The channels linked to a trade, in the order they were linked."""
    rows = conn.execute(
        "select channel_id from trade_channels where trade_id = %s order by created_at, channel_id", (trade_id,)
    ).fetchall()
    return [r["channel_id"] for r in rows]


def active_linked_channels(conn: Conn, trade_id: UUID) -> list[UUID]:
    """The linked channels that can still be posted to."""
    rows = conn.execute(
        "select tc.channel_id from trade_channels tc join discord_channels c on c.id = tc.channel_id"
        " where tc.trade_id = %s and c.is_active order by tc.created_at, tc.channel_id",
        (trade_id,),
    ).fetchall()
    return [r["channel_id"] for r in rows]


def own_channels(conn: Conn, channel_ids: Sequence[UUID]) -> set[UUID]:
    """Which of `channel_ids` are the user's own channels."""
    rows = conn.execute("select id from discord_channels where id = any(%s)", (list(channel_ids),)).fetchall()
    return {r["id"] for r in rows}


def link_channels(conn: Conn, trade_id: UUID, channel_ids: Sequence[UUID], *, replace: bool = False) -> None:
    """Link channels to a trade (replacing the existing links when `replace`)."""
    if replace:
        conn.execute("delete from trade_channels where trade_id = %s", (trade_id,))
    for channel_id in dict.fromkeys(channel_ids):
        conn.execute(
            "insert into trade_channels (trade_id, channel_id) values (%s, %s) on conflict do nothing",
            (trade_id, channel_id),
        )


def channels_by_trade(conn: Conn, trade_ids: Sequence[UUID]) -> dict[UUID, list[UUID]]:
    """The linked channels of several trades at once."""
    result: dict[UUID, list[UUID]] = {t: [] for t in trade_ids}
    if not trade_ids:
        return result
    rows = conn.execute(
        "select trade_id, channel_id from trade_channels where trade_id = any(%s) order by created_at, channel_id",
        (list(trade_ids),),
    ).fetchall()
    for row in rows:
        result[row["trade_id"]].append(row["channel_id"])
    return result


def list_trades(
    conn: Conn, *, state: StoredState | None, limit: int, after: tuple[datetime, UUID] | None
) -> list[Trade]:
    """A page of the user's trades, newest first, starting after the (created_at, id) cursor."""
    clauses: list[str] = []
    params: list[Any] = []
    if state is not None:
        clauses.append("state = %s")
        params.append(state)
    if after is not None:
        clauses.append("(created_at, id) < (%s, %s)")
        params.extend(after)
    where = f" where {' and '.join(clauses)}" if clauses else ""
    rows = conn.execute(
        f"{TRADE_SELECT}{where} order by created_at desc, id desc limit %s",
        (*params, limit),
    ).fetchall()
    return [trade_from_row(r) for r in rows]
