"""Migration 0005 turns trades written before the ledger into fills, and the figures come out by hand."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg.rows import dict_row

from shared.db.migrations import MIGRATIONS_DIR, migrate
from shared.trades.ledger import position_pnl, replay
from shared.trades.store import fill_from_row
from tests.scratch_database import scratch_database

D = Decimal
USER = uuid.uuid4()
AT = datetime(2025, 12, 5, 15, 30, tzinfo=UTC)
TRADE = (
    "insert into trades (user_id, ticker, contract, underlying, strike, expiry, side, trade_type, state, quantity,"
    " entry_price, current_price, exit_price, trimmed_percent, realized_percent, entered_at, exited_at)"
    " values (%s, 'QQQ', 'O:QQQ251219P00600000', 'QQQ', 600, '2025-12-19', 'put', 'Day', %s, %s, %s, %s, %s,"
    " %s, %s, %s, %s) returning id"
)
UPDATE = (
    "insert into trade_updates (user_id, trade_id, type, price, trim_percent, quantity, created_at)"
    " values (%s, %s, %s, %s, %s, %s, now() + %s * interval '1 second')"
)


@pytest.fixture
def before_the_ledger(postgres_admin_url: str, tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A database migrated up to 0004, and a migrations folder holding only those."""
    folder = tmp_path / "migrations"
    folder.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.name < "0005":
            shutil.copy(path, folder / path.name)
    with scratch_database(postgres_admin_url, "hd_fills") as url:
        with psycopg.connect(url) as conn:
            migrate(conn, directory=folder)
        yield url, folder


def _old_trade(conn: psycopg.Connection[Any], state: str, updates: list[tuple[Any, ...]], **trade: Any) -> uuid.UUID:
    row = conn.execute(
        TRADE,
        (USER, state, trade.get("quantity", 1), trade.get("entry"), trade.get("current"), trade.get("exit"),
         trade.get("trimmed", 0), trade.get("realized", 0), AT if state != "loaded" else None,
         AT if state == "exited" else None),
    ).fetchone()
    assert row is not None
    for second, (kind, price, trim, quantity) in enumerate(updates):
        conn.execute(UPDATE, (USER, row[0], kind, price, trim, quantity, second))
    return uuid.UUID(str(row[0]))


def _fills(conn: psycopg.Connection[Any], trade_id: uuid.UUID) -> list[dict[str, Any]]:
    with conn.cursor(row_factory=dict_row) as cursor:
        return cursor.execute(
            "select side, contracts, price, fee, slippage from trade_fills where trade_id = %s order by seq",
            (trade_id,),
        ).fetchall()


def test_old_trades_become_fills_with_the_figures_by_hand(before_the_ledger: tuple[str, Path]) -> None:
    url, folder = before_the_ledger
    with psycopg.connect(url) as conn:
        # The adds case as the old code stored it: the add re-averaged the entry to 3.2667 and the
        # size to 15; the trim was 50 % of the 10 bought by then.
        adds_case = _old_trade(
            conn, "exited",
            [("enter", "3.10", None, 10), ("trim", "4.00", 50, None), ("add", "3.60", None, 5),
             ("exit", "4.50", None, None)],
            quantity=15, entry="3.2667", current="4.50", exit="4.50", trimmed=50, realized="14.52",
        )
        # An entered trade whose enter row is missing keeps its stored entry as its one fill.
        bare = _old_trade(conn, "entered", [], quantity=2, entry="1.20", current="1.50")
        loaded = _old_trade(conn, "loaded", [("load", "1.20", None, None)], current="1.20")
        conn.commit()
    shutil.copy(MIGRATIONS_DIR / "0005_trade_fills.sql", folder / "0005_trade_fills.sql")
    with psycopg.connect(url) as conn:
        assert migrate(conn, directory=folder) == ["0005"]
        rows = _fills(conn, adds_case)
        assert [(r["side"], r["contracts"], r["price"]) for r in rows] == [
            ("buy", D(10), D("3.1000")), ("sell", D("5.0"), D("4.0000")), ("buy", D(5), D("3.6000")),
            ("sell", D("10.0"), D("4.5000")),
        ]
        figures = position_pnl(replay(fill_from_row(r) for r in rows), D("4.50"))
        assert (figures.gross, figures.fees, figures.slippage, figures.net) == (
            D("1600.00"), D("19.50"), D("57.00"), D("1523.50"),
        )
        entry = conn.execute("select entry_price, quantity from trades where id = %s", (adds_case,)).fetchone()
        assert entry == (D("3.1000"), 10)
        assert [(r["side"], r["contracts"], r["price"]) for r in _fills(conn, bare)] == [("buy", D(2), D("1.2000"))]
        assert _fills(conn, loaded) == []
        columns = {r[0] for r in conn.execute(
            "select column_name from information_schema.columns where table_name = 'trades'"
        )}
        assert not {"trimmed_percent", "realized_percent"} & columns
