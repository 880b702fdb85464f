"""Our tables out of the Data API's reach (migration 0011), and a member's claims reaching nothing.

- A database migrated from zero and one migrated from the last release (0001–0010, with data,
  then the rest) end with the same schema, and the second keeps its rows.
- `public` holds nothing of ours; `anon` cannot even use schema `honeydrip`.
- `authenticated` without our transaction's settings, and with a member's claims, reads nothing
  and writes nothing in any of our tables.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from shared.db import service_tx, user_tx
from shared.db.migrations import MIGRATIONS_DIR, migrate
from tests.conftest import Admin
from tests.scratch_database import scratch_database

LAST_RELEASE = "0010"
# A name, for each table, that selects it in a pg_catalog dump (not its oid, which differs).
CATALOG = {
    "tables": "select c.relname, c.relkind::text, c.relrowsecurity, c.relforcerowsecurity from pg_class c"
    " join pg_namespace n on n.oid = c.relnamespace where n.nspname = 'honeydrip' order by 1",
    "columns": "select c.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull, a.attidentity::text,"
    " pg_get_expr(d.adbin, d.adrelid) from pg_attribute a join pg_class c on c.oid = a.attrelid"
    " join pg_namespace n on n.oid = c.relnamespace left join pg_attrdef d on d.adrelid = a.attrelid"
    " and d.adnum = a.attnum where n.nspname = 'honeydrip' and a.attnum > 0 and not a.attisdropped order by 1, 2",
    "constraints": "select c.relname, k.conname, pg_get_constraintdef(k.oid) from pg_constraint k"
    " join pg_class c on c.oid = k.conrelid join pg_namespace n on n.oid = c.relnamespace"
    " where n.nspname = 'honeydrip' order by 1, 2",
    "indexes": "select tablename, indexname, indexdef from pg_indexes where schemaname = 'honeydrip' order by 1, 2",
    "policies": "select tablename, policyname, permissive, roles::text, cmd, qual, with_check from pg_policies"
    " where schemaname = 'honeydrip' order by 1, 2",
    "triggers": "select c.relname, t.tgname, pg_get_triggerdef(t.oid) from pg_trigger t"
    " join pg_class c on c.oid = t.tgrelid join pg_namespace n on n.oid = c.relnamespace"
    " where n.nspname = 'honeydrip' and not t.tgisinternal order by 1, 2",
    "functions": "select p.proname, pg_get_function_identity_arguments(p.oid), p.prosrc, p.prosecdef,"
    " p.proconfig::text, p.proacl::text from pg_proc p join pg_namespace n on n.oid = p.pronamespace"
    " where n.nspname = 'honeydrip' order by 1, 2",
    "grants": "select c.relname, c.relacl::text from pg_class c join pg_namespace n on n.oid = c.relnamespace"
    " where n.nspname = 'honeydrip' order by 1",
    "column_grants": "select table_name, column_name, grantee, privilege_type from information_schema.column_privileges"
    " where table_schema = 'honeydrip' and grantee in ('anon', 'authenticated', 'service_role') order by 1, 2, 3, 4",
    "schema": "select nspname, nspacl::text from pg_namespace where nspname = 'honeydrip'",
}


def catalog(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {name: conn.execute(query).fetchall() for name, query in CATALOG.items()}


@pytest.fixture
def last_release(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    folder.mkdir()
    for path in sorted(MIGRATIONS_DIR.glob("*.sql")):
        if path.name[:4] <= LAST_RELEASE:
            shutil.copy(path, folder / path.name)
    return folder


@pytest.fixture
def from_zero(postgres_admin_url: str) -> Iterator[str]:
    with scratch_database(postgres_admin_url, "hd_zero") as url:
        with psycopg.connect(url) as conn:
            migrate(conn)
        yield url


@pytest.fixture
def upgraded(postgres_admin_url: str, last_release: Path) -> Iterator[tuple[str, uuid.UUID]]:
    """A database at the last release, with an admin's rows in it, then migrated to this one."""
    user = uuid.uuid4()
    with scratch_database(postgres_admin_url, "hd_up") as url:
        with psycopg.connect(url) as conn:
            migrate(conn, directory=last_release)
            conn.execute("insert into public.watchlist (user_id, symbol) values (%s, 'SPY')", (user,))
            channel = conn.execute(
                "insert into public.discord_channels (user_id, name, webhook_id, webhook_token)"
                " values (%s, 'alerts', '12345678901234567', 'tok') returning id",
                (user,),
            ).fetchone()
            trade = conn.execute(
                "insert into public.trades (user_id, ticker, contract, underlying, strike, expiry, side, trade_type,"
                " state, quantity, entry_price, current_price, stop_loss, entered_at)"
                " values (%s, 'SPY', 'O:SPY251219C00650000', 'SPY', 650, '2025-12-19', 'call', 'Day', 'entered', 2,"
                " 1.20, 1.50, 0.80, now()) returning id",
                (user,),
            ).fetchone()
            assert channel is not None and trade is not None
            conn.execute(
                "insert into public.trade_fills (trade_id, user_id, side, contracts, price, fee, slippage)"
                " values (%s, %s, 'buy', 2, 1.20, 1.30, 1.20)",
                (trade[0], user),
            )
            conn.commit()
            newer = [m.name[:4] for m in sorted(MIGRATIONS_DIR.glob("*.sql")) if m.name[:4] > LAST_RELEASE]
            assert migrate(conn) == newer
        yield url, user


def test_from_zero_and_from_the_last_release_give_the_same_schema(
    from_zero: str, upgraded: tuple[str, uuid.UUID]
) -> None:
    zero, upgrade = catalog(from_zero), catalog(upgraded[0])
    for part in CATALOG:
        assert zero[part] == upgrade[part], part
    assert {row[0] for row in zero["tables"]} >= {"trades", "trade_fills", "challenges", "admin_roles"}


def test_the_upgrade_keeps_every_row(upgraded: tuple[str, uuid.UUID]) -> None:
    url, user = upgraded
    with psycopg.connect(url) as conn:
        counts = {
            table: conn.execute(
                sql.SQL("select count(*) from {} where user_id = %s").format(sql.Identifier("honeydrip", table)),
                (user,),
            ).fetchone()
            for table in ("watchlist", "discord_channels", "trades", "trade_fills")
        }
        entry_stop = conn.execute("select entry_stop from honeydrip.trades").fetchone()
    assert counts == {table: (1,) for table in counts}
    # The trade entered before 0012 takes its stored stop as the stop it was entered with.
    assert entry_stop is not None and str(entry_stop[0]) == "0.8000"


def test_public_holds_nothing_of_ours(from_zero: str) -> None:
    with psycopg.connect(from_zero) as conn:
        relations = conn.execute(
            "select c.relname from pg_class c join pg_namespace n on n.oid = c.relnamespace"
            " where n.nspname = 'public'"
        ).fetchall()
        functions = conn.execute(
            "select p.proname from pg_proc p join pg_namespace n on n.oid = p.pronamespace where n.nspname = 'public'"
            " and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')"
        ).fetchall()
    assert (relations, functions) == ([], [])


def test_only_the_functions_roles_may_use_our_schema(from_zero: str) -> None:
    with psycopg.connect(from_zero) as conn:
        usage = {
            role: conn.execute("select has_schema_privilege(%s, 'honeydrip', 'USAGE')", (role,)).fetchone()
            for role in ("anon", "authenticated", "service_role")
        }
        public_usage = conn.execute(
            "select exists (select 1 from pg_namespace n, aclexplode(n.nspacl) a"
            " where n.nspname = 'honeydrip' and a.grantee = 0)"
        ).fetchone()
    assert usage == {"anon": (False,), "authenticated": (True,), "service_role": (True,)}
    assert public_usage == (False,)


def _our_tables(conn: psycopg.Connection[Any]) -> list[str]:
    return [r[0] for r in conn.execute("select tablename from pg_tables where schemaname = 'honeydrip' order by 1")]


@pytest.fixture
def every_table_has_a_row(db: psycopg.Connection[Any], admin: Admin) -> Admin:
    """A row of `admin`'s (or a market row) in every table, written as the superuser."""
    user = admin.user_id
    db.execute("insert into watchlist (user_id, symbol) values (%s, 'SPY')", (user,))
    db.execute("insert into profiles (user_id, display_name) values (%s, 'A')", (user,))
    channel = db.execute(
        "insert into discord_channels (user_id, name, webhook_id, webhook_token)"
        " values (%s, 'alerts', '12345678901234567', 'tok') returning id",
        (user,),
    ).fetchone()
    trade = db.execute(
        "insert into trades (user_id, ticker, contract, underlying, strike, expiry, side, trade_type, state, quantity,"
        " entry_price, current_price, stop_loss, entered_at) values (%s, 'SPY', 'O:SPY251219C00650000', 'SPY', 650,"
        " '2025-12-19', 'call', 'Day', 'entered', 2, 1.20, 1.50, 0.80, now()) returning id",
        (user,),
    ).fetchone()
    assert channel is not None and trade is not None
    update = db.execute(
        "insert into trade_updates (trade_id, user_id, type, price) values (%s, %s, 'enter', 1.20) returning id",
        (trade[0], user),
    ).fetchone()
    assert update is not None
    db.execute(
        "insert into trade_fills (trade_id, user_id, trade_update_id, side, contracts, price, fee, slippage)"
        " values (%s, %s, %s, 'buy', 2, 1.20, 1.30, 1.20)",
        (trade[0], user, update[0]),
    )
    db.execute("insert into trade_channels (trade_id, channel_id, user_id) values (%s, %s, %s)",
               (trade[0], channel[0], user))
    alert = db.execute(
        "insert into alerts (user_id, trade_id, action, payload) values (%s, %s, 'enter', '{}') returning id",
        (user, trade[0]),
    ).fetchone()
    assert alert is not None
    db.execute(
        "insert into alert_deliveries (user_id, alert_id, channel_id, payload) values (%s, %s, %s, '{}')",
        (user, alert[0], channel[0]),
    )
    db.execute("insert into discord_rate_limits (key) values ('global')")
    db.execute("insert into idempotency_keys (user_id, key, request_hash) values (%s, 'k', 'h')", (user,))
    db.execute("insert into job_heartbeats (job, started_at, finished_at, status, duration_ms)"
               " values ('ingest', now(), now(), 'ok', 1)")
    db.execute(
        "insert into historical_bars (symbol, timeframe, ts, o, h, l, c) values ('SPY', '1m', now(), 1, 1, 1, 1)"
    )
    db.execute("insert into ingestion_queue (symbol) values ('SPY')")
    db.execute("insert into indicator_state (symbol, timeframe, as_of, state) values ('SPY', '1m', now(), '{}')")
    db.execute(
        "insert into gamma_snapshots (symbol, view, bucket, taken_at, spot, net_gex, call_gex, put_gex, contracts,"
        " contracts_without_greeks, contracts_without_open_interest, strikes)"
        " values ('SPY', 'all', now(), now(), 600, 1, 1, 0, 1, 0, 0, '{}')"
    )
    db.execute(
        "insert into gamma_charts (symbol, view, bucket, png, etag)"
        " select symbol, view, bucket, '\\x89504e470d0a1a0a'::bytea, repeat('0', 64) from gamma_snapshots"
    )
    db.execute("insert into market_cache (key, kind, body, expires_at) values ('quote:SPY', 'ok', '{}', now())")
    db.execute("insert into market_fair_use (user_id, minute) values (%s, now())", (user,))
    db.execute("insert into signal_settings (asset_class, min_score, min_rr, cooldown_minutes, expires_minutes)"
               " values ('stock', 65, 1.5, 30, 60) on conflict do nothing")
    db.execute(
        "insert into composite_signals (user_id, symbol, detector, direction, style, score, factors, entry, stop,"
        " targets, rr, bar_time, expires_at) values (%s, 'SPY', 'trend', 'long', 'day', 70, '[]', 1, 0.5, '{2}', 2,"
        " now(), now() + interval '1 hour')",
        (user,),
    )
    db.execute("insert into signal_cooldowns (user_id, symbol, detector, last_bar_time, until)"
               " values (%s, 'SPY', 'trend', now(), now())", (user,))
    db.execute("insert into scan_watermarks (symbol, bar_time) values ('SPY', now())")
    challenge = db.execute(
        "insert into challenges (user_id, name, starting_balance, target_balance, start_date)"
        " values (%s, 'C', 1000, 2000, '2025-12-01') returning id",
        (user,),
    ).fetchone()
    assert challenge is not None
    db.execute("insert into challenge_trades (challenge_id, trade_id, user_id) values (%s, %s, %s)",
               (challenge[0], trade[0], user))
    for table in _our_tables(db):
        count = db.execute(sql.SQL("select count(*) from {}").format(sql.Identifier("honeydrip", table))).fetchone()
        assert count is not None and count[0] >= 1, f"{table} has no row: add one above"
    return admin


def _as_member(
    conn: psycopg.Connection[Any], table: str, claims: str | None, statement: sql.Composed
) -> tuple[str, int | None]:
    """What `statement` on `table` does as `authenticated` with `claims` (None: no settings at all)."""
    try:
        with conn.transaction():
            conn.execute("set local role authenticated")
            if claims is not None:
                conn.execute("select set_config('request.jwt.claims', %s, true)", (claims,))
            cursor = conn.execute(statement)
            rows = cursor.fetchall() if cursor.description else None
            return ("rows", len(rows)) if rows is not None else ("changed", cursor.rowcount)
    except psycopg.errors.InsufficientPrivilege:
        return ("refused", None)


@pytest.mark.parametrize("claims_of", ["nobody", "member", "member_claiming_user_metadata"])
def test_authenticated_without_an_admins_claims_reads_and_writes_nothing(
    every_table_has_a_row: Admin, database_url: str, claims_of: str, member: Admin
) -> None:
    import orjson

    owner = every_table_has_a_row
    claims: str | None = None
    if claims_of == "member":
        claims = orjson.dumps(member.verified.claims).decode()
    elif claims_of == "member_claiming_user_metadata":
        # The owner's own id, as a member: the user's own metadata never makes an admin.
        forged = {**member.verified.claims, "sub": str(owner.user_id), "user_metadata": {"role": "admin"}}
        claims = orjson.dumps(forged).decode()
    with psycopg.connect(database_url, autocommit=True) as conn:
        for table in _our_tables(conn):
            name = sql.Identifier("honeydrip", table)
            read = _as_member(conn, table, claims, sql.SQL("select * from {}").format(name))
            assert read in (("rows", 0), ("refused", None)), (table, read)
            for write in (
                sql.SQL("update {} set {} = {}").format(name, sql.Identifier(_first_column(conn, table)),
                                                          sql.Identifier(_first_column(conn, table))),
                sql.SQL("delete from {}").format(name),
            ):
                outcome = _as_member(conn, table, claims, write)
                assert outcome in (("changed", 0), ("refused", None)), (table, outcome)
            inserted = _as_member(conn, table, claims, sql.SQL("insert into {} default values").format(name))
            assert inserted == ("refused", None), (table, inserted)
        # and nothing changed
        for table in _our_tables(conn):
            count = conn.execute(sql.SQL("select count(*) from {}").format(sql.Identifier("honeydrip", table)))
            row = count.fetchone()
            assert row is not None and row[0] >= 1, table


def _first_column(conn: psycopg.Connection[Any], table: str) -> str:
    row = conn.execute(
        "select column_name from information_schema.columns where table_schema = 'honeydrip' and table_name = %s"
        " and is_generated = 'NEVER' and identity_generation is null order by ordinal_position limit 1",
        (table,),
    ).fetchone()
    assert row is not None
    return str(row[0])


def test_an_admins_request_transaction_still_sees_its_rows(every_table_has_a_row: Admin) -> None:
    with user_tx(every_table_has_a_row.verified) as conn:
        assert conn.execute("select count(*) as n from trades").fetchone() == {"n": 1}
        assert conn.execute("select count(*) as n from challenges").fetchone() == {"n": 1}
        assert conn.execute("select honeydrip.is_admin() as yes").fetchone() == {"yes": True}


def test_the_request_transactions_find_our_tables_without_a_session_search_path(
    every_table_has_a_row: Admin, database_url: str
) -> None:
    # Behind a transaction pooler a session's `SET search_path` is lost; ours is set per transaction.
    with psycopg.connect(database_url) as conn:
        assert conn.execute("show search_path").fetchone() == ('"$user", public',)
    with user_tx(every_table_has_a_row.verified) as conn:
        assert conn.execute("show search_path").fetchone() == {"search_path": "honeydrip"}
    with service_tx() as conn:
        assert conn.execute("select count(*) as n from watchlist").fetchone() == {"n": 1}
