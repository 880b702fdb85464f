"""Row-level security, proven in SQL: users see and change only their own rows."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg
import pytest

from shared.db import service_tx, user_tx
from tests.conftest import MakeToken


@pytest.fixture
def two_users(db: psycopg.Connection[Any], make_token: MakeToken) -> tuple[Any, Any]:
    _, alice = make_token(email="alice@example.com")
    _, bob = make_token(email="bob@example.com")
    for user, symbols in ((alice, ["SPY", "QQQ"]), (bob, ["TSLA"])):
        with user_tx(user) as conn:
            for symbol in symbols:
                conn.execute("insert into watchlist (symbol) values (%s)", (symbol,))
            conn.execute("insert into profiles (display_name) values (%s)", (user.email,))
    return alice, bob


def test_a_user_selects_only_their_own_rows(two_users: tuple[Any, Any]) -> None:
    alice, _ = two_users
    with user_tx(alice) as conn:
        symbols = [r["symbol"] for r in conn.execute("select symbol from watchlist order by symbol")]
        profiles = conn.execute("select user_id from profiles").fetchall()
    assert symbols == ["QQQ", "SPY"]
    assert [p["user_id"] for p in profiles] == [alice.user_id]


def test_a_user_cannot_update_another_users_rows(two_users: tuple[Any, Any]) -> None:
    alice, bob = two_users
    with user_tx(alice) as conn:
        updated = conn.execute(
            "update watchlist set symbol = 'HACK' where user_id = %s", (bob.user_id,)
        ).rowcount
    assert updated == 0
    with user_tx(bob) as conn:
        assert [r["symbol"] for r in conn.execute("select symbol from watchlist")] == ["TSLA"]


def test_a_user_cannot_delete_another_users_rows(two_users: tuple[Any, Any]) -> None:
    alice, bob = two_users
    with user_tx(alice) as conn:
        assert conn.execute("delete from watchlist where user_id = %s", (bob.user_id,)).rowcount == 0
        assert conn.execute("delete from profiles where user_id = %s", (bob.user_id,)).rowcount == 0
    with service_tx() as conn:
        assert conn.execute("select count(*) as n from watchlist").fetchone() == {"n": 3}


def test_a_user_cannot_insert_a_row_owned_by_someone_else(two_users: tuple[Any, Any]) -> None:
    alice, bob = two_users
    with pytest.raises(psycopg.errors.InsufficientPrivilege), user_tx(alice) as conn:
        conn.execute("insert into watchlist (user_id, symbol) values (%s, 'NVDA')", (bob.user_id,))


def test_a_user_cannot_move_their_row_to_someone_else(two_users: tuple[Any, Any]) -> None:
    alice, bob = two_users
    with pytest.raises(psycopg.errors.InsufficientPrivilege), user_tx(alice) as conn:
        conn.execute("update watchlist set user_id = %s", (bob.user_id,))


def test_anon_sees_and_writes_nothing(two_users: tuple[Any, Any], database_url: str) -> None:
    with psycopg.connect(database_url) as conn:
        conn.execute("set role anon")
        for table in ("watchlist", "profiles"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(f"select * from honeydrip.{table}")  # noqa: S608  # fixed table names
            conn.rollback()
            conn.execute("set role anon")


def test_every_table_of_ours_has_row_level_security(db: psycopg.Connection[Any]) -> None:
    rows = db.execute(
        "select c.relname, c.relrowsecurity from pg_class c join pg_namespace n on n.oid = c.relnamespace"
        " where n.nspname = 'honeydrip' and c.relkind = 'r'"
    ).fetchall()
    assert rows
    assert [name for name, secured in rows if not secured] == []


def test_anon_has_no_privilege_on_any_table_of_ours(db: psycopg.Connection[Any]) -> None:
    rows = db.execute(
        "select table_name, privilege_type from information_schema.role_table_grants"
        " where grantee = 'anon' and table_schema = 'honeydrip'"
    ).fetchall()
    assert rows == []


def test_the_service_role_sees_every_users_rows(two_users: tuple[Any, Any]) -> None:
    with service_tx() as conn:
        owners = {r["user_id"] for r in conn.execute("select user_id from watchlist")}
    assert owners == {two_users[0].user_id, two_users[1].user_id}


def test_claims_do_not_outlive_the_transaction(two_users: tuple[Any, Any]) -> None:
    alice, _ = two_users
    with user_tx(alice) as conn:
        assert conn.execute("select auth.uid() as uid").fetchone() == {"uid": alice.user_id}
    with service_tx() as conn:
        assert conn.execute("select auth.uid() as uid, current_user as role").fetchone() == {
            "uid": None,
            "role": "service_role",
        }


def test_an_unknown_user_sees_an_empty_world(two_users: tuple[Any, Any], make_token: MakeToken) -> None:
    _, stranger = make_token(uuid.uuid4())
    with user_tx(stranger) as conn:
        assert conn.execute("select count(*) as n from watchlist").fetchone() == {"n": 0}


def test_users_hold_no_privilege_that_row_level_security_cannot_govern(db: psycopg.Connection[Any]) -> None:
    rows = db.execute(
        "select c.relname, r.rolname, p.privilege from pg_class c"
        " join pg_namespace n on n.oid = c.relnamespace"
        " cross join (values ('anon'), ('authenticated')) as r(rolname)"
        " cross join (values ('TRUNCATE'), ('REFERENCES'), ('TRIGGER')) as p(privilege)"
        " where n.nspname = 'honeydrip' and c.relkind = 'r'"
        " and has_table_privilege(r.rolname, c.oid, p.privilege)"
    ).fetchall()
    assert rows == []
