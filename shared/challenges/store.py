"""Challenges and their links to trades in Postgres, read and written on the caller's connection (I/O).

Every statement runs in a request transaction (`shared.db.user_tx`), so row-level security keeps
an admin to their own challenges and trades: another admin's id is simply not found.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from psycopg import sql

from shared.challenges.figures import LinkedTrade
from shared.challenges.line import ChallengeBook
from shared.db import Connection
from shared.trades.store import fills_by_trade

COLUMNS = (
    "id, name, starting_balance, target_balance, start_date, end_date, status, default_channel_id, scope,"
    " created_at, updated_at, archived_at"
)
# What PATCH may change; status changes through archive (and back to active through PATCH).
EDITABLE = frozenset(
    {"name", "starting_balance", "target_balance", "start_date", "end_date", "default_channel_id", "scope", "status"}
)


def insert_challenge(conn: Connection, values: Mapping[str, Any]) -> dict[str, Any]:
    """A new challenge owned by the transaction's user."""
    names = [n for n in values if n in EDITABLE]
    row = conn.execute(
        sql.SQL("insert into challenges ({}) values ({}) returning " + COLUMNS).format(  # noqa: S608 - fixed columns
            sql.SQL(", ").join(sql.Identifier(n) for n in names),
            sql.SQL(", ").join(sql.Placeholder() for _ in names),
        ),
        [values[n] for n in names],
    ).fetchone()
    assert row is not None
    return row


def get_challenge(conn: Connection, challenge_id: UUID, *, lock: bool = False) -> dict[str, Any] | None:
    """One of the user's challenges, or None."""
    suffix = " for update" if lock else ""
    return conn.execute(
        f"select {COLUMNS} from challenges where id = %s{suffix}",  # noqa: S608 - fixed columns
        (challenge_id,),
    ).fetchone()


def list_challenges(
    conn: Connection, *, status: str | None, limit: int, after: tuple[datetime, UUID] | None
) -> list[dict[str, Any]]:
    """The user's challenges newest first, `limit` of them after the cursor's row."""
    clauses: list[str] = ["true"]
    values: list[Any] = []
    if status is not None:
        clauses.append("status = %s")
        values.append(status)
    if after is not None:
        clauses.append("(created_at, id) < (%s, %s)")
        values.extend(after)
    return conn.execute(
        f"select {COLUMNS} from challenges where {' and '.join(clauses)}"  # noqa: S608 - fixed clauses
        " order by created_at desc, id desc limit %s",
        (*values, limit),
    ).fetchall()


def update_challenge(conn: Connection, challenge_id: UUID, changes: Mapping[str, Any], now: datetime) -> dict[str, Any]:
    """Apply `changes` (EDITABLE columns) and return the row; archiving stamps archived_at."""
    values = {n: v for n, v in changes.items() if n in EDITABLE}
    if "status" in values:
        values["archived_at"] = now if values["status"] == "archived" else None
    values["updated_at"] = now
    row = conn.execute(
        sql.SQL("update challenges set {} where id = {} returning " + COLUMNS).format(  # noqa: S608 - fixed columns
            sql.SQL(", ").join(sql.SQL("{} = {}").format(sql.Identifier(n), sql.Placeholder()) for n in values),
            sql.Placeholder(),
        ),
        [*values.values(), challenge_id],
    ).fetchone()
    assert row is not None
    return row


def link_trade(conn: Connection, challenge_id: UUID, trade_id: UUID) -> bool:
    """Link a trade; False when it already was."""
    return bool(
        conn.execute(
            "insert into challenge_trades (challenge_id, trade_id) values (%s, %s) on conflict do nothing",
            (challenge_id, trade_id),
        ).rowcount
    )


def unlink_trade(conn: Connection, challenge_id: UUID, trade_id: UUID) -> bool:
    """Unlink a trade; False when it was not linked."""
    return bool(
        conn.execute(
            "delete from challenge_trades where challenge_id = %s and trade_id = %s", (challenge_id, trade_id)
        ).rowcount
    )


def trade_exists(conn: Connection, trade_id: UUID) -> bool:
    """Whether the trade is one of the user's."""
    return conn.execute("select 1 from trades where id = %s", (trade_id,)).fetchone() is not None


def linked_trade_ids(conn: Connection, challenge_ids: Sequence[UUID]) -> dict[UUID, list[UUID]]:
    """Each challenge's linked trade ids, in the order they were linked."""
    result: dict[UUID, list[UUID]] = {c: [] for c in challenge_ids}
    rows = conn.execute(
        "select challenge_id, trade_id from challenge_trades where challenge_id = any(%s)"
        " order by created_at, trade_id",
        (list(challenge_ids),),
    ).fetchall()
    for row in rows:
        result[row["challenge_id"]].append(row["trade_id"])
    return result


def linked_trades(conn: Connection, challenge_ids: Sequence[UUID]) -> dict[UUID, list[LinkedTrade]]:
    """Each challenge's linked trades as the figures read them: state, fills, mark, entry stop."""
    result: dict[UUID, list[LinkedTrade]] = {c: [] for c in challenge_ids}
    rows = conn.execute(
        "select l.challenge_id, t.id, t.state, t.current_price, t.entry_stop"
        " from challenge_trades l join trades t on t.id = l.trade_id"
        " where l.challenge_id = any(%s) order by l.created_at, t.id",
        (list(challenge_ids),),
    ).fetchall()
    fills = fills_by_trade(conn, list({row["id"] for row in rows}))
    for row in rows:
        result[row["challenge_id"]].append(
            LinkedTrade(
                trade_id=row["id"], state=row["state"], fills=tuple(fills[row["id"]]), mark=row["current_price"],
                entry_stop=row["entry_stop"],
            )
        )
    return result


def books_for_trade(conn: Connection, trade_id: UUID) -> list[ChallengeBook]:
    """The active challenges `trade_id` is in, each with all its linked trades (for the 🏆 line)."""
    rows = conn.execute(
        "select c.id, c.name, c.starting_balance, c.target_balance from challenges c"
        " join challenge_trades l on l.challenge_id = c.id"
        " where l.trade_id = %s and c.status = 'active' order by c.created_at, c.id",
        (trade_id,),
    ).fetchall()
    trades = linked_trades(conn, [row["id"] for row in rows])
    return [
        ChallengeBook(
            challenge_id=row["id"], name=row["name"], starting_balance=row["starting_balance"],
            target_balance=row["target_balance"], trades=tuple(trades[row["id"]]),
        )
        for row in rows
    ]


def default_channels_for_trade(conn: Connection, trade_id: UUID) -> list[UUID]:
    """The active default channels of the active challenges `trade_id` is in."""
    rows = conn.execute(
        "select distinct on (c.default_channel_id) c.default_channel_id as channel_id from challenges c"
        " join challenge_trades l on l.challenge_id = c.id"
        " join discord_channels d on d.id = c.default_channel_id"
        " where l.trade_id = %s and c.status = 'active' and d.is_active"
        " order by c.default_channel_id",
        (trade_id,),
    ).fetchall()
    return [row["channel_id"] for row in rows]


def own_channel(conn: Connection, channel_id: UUID) -> bool:
    """Whether the channel is one of the user's."""
    return conn.execute("select 1 from discord_channels where id = %s", (channel_id,)).fetchone() is not None
