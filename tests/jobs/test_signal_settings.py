"""Migration 0009 seeds one threshold row per asset class, and the scanner reads them from there."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from shared.db.migrations import migrate
from shared.signals.confluence import Rules
from shared.signals.store import load_rules


@pytest.fixture
def fresh_database(postgres_admin_url: str) -> Iterator[str]:
    name = f"hd_sig_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("create database {}").format(sql.Identifier(name)))
    yield make_conninfo(postgres_admin_url, dbname=name)
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(name)))


def test_the_migration_seeds_the_thresholds_per_asset_class(fresh_database: str) -> None:
    with psycopg.connect(fresh_database) as conn:
        migrate(conn)
    with psycopg.connect(fresh_database, row_factory=dict_row) as conn:
        assert load_rules(conn) == {
            "index": Rules(60.0, 1.5, 15, 60),
            "etf": Rules(60.0, 1.5, 15, 60),
            "stock": Rules(65.0, 1.5, 30, 60),
        }


def test_a_threshold_outside_its_range_is_refused(fresh_database: str) -> None:
    with psycopg.connect(fresh_database) as conn:
        migrate(conn)
        for change in ("min_score = 101", "min_rr = 0", "cooldown_minutes = -1", "expires_minutes = 0"):
            with pytest.raises(psycopg.errors.CheckViolation), conn.transaction():
                conn.execute(f"update signal_settings set {change} where asset_class = 'stock'")  # noqa: S608
