"""The migration runner: fresh apply, a no-op second run, and refusal of an edited applied file."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from shared.db.migrations import MIGRATIONS_DIR, MigrationError, discover, migrate
from tests.scratch_database import scratch_database


@pytest.fixture
def empty_database(postgres_admin_url: str) -> Iterator[str]:
    with scratch_database(postgres_admin_url, "hd_mig") as url:
        yield url


@pytest.fixture
def migrations_copy(tmp_path: Path) -> Path:
    target = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, target)
    return target


def test_a_fresh_database_gets_every_migration_in_order(empty_database: str) -> None:
    with psycopg.connect(empty_database) as conn:
        applied = migrate(conn)
        assert applied == [m.version for m in discover()]
        tables = {r[0] for r in conn.execute("select tablename from pg_tables where schemaname='honeydrip'")}
        public = {r[0] for r in conn.execute("select tablename from pg_tables where schemaname='public'")}
    assert {"profiles", "watchlist"} <= tables
    assert public == set()


def test_a_second_run_applies_nothing(empty_database: str) -> None:
    with psycopg.connect(empty_database) as conn:
        migrate(conn)
        assert migrate(conn) == []


def test_an_edited_applied_migration_is_refused(empty_database: str, migrations_copy: Path) -> None:
    with psycopg.connect(empty_database) as conn:
        migrate(conn, directory=migrations_copy)
        first = sorted(migrations_copy.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited\n")
        with pytest.raises(MigrationError, match=re.escape(f"{first.name} changed after it was applied")):
            migrate(conn, directory=migrations_copy)


def test_a_new_migration_is_applied_after_the_recorded_ones(empty_database: str, migrations_copy: Path) -> None:
    with psycopg.connect(empty_database) as conn:
        migrate(conn, directory=migrations_copy)
        (migrations_copy / "9999_extra.sql").write_text("create table public.extra_thing (id int);")
        assert migrate(conn, directory=migrations_copy) == ["9999"]


def test_a_failing_migration_leaves_nothing_half_applied(empty_database: str, migrations_copy: Path) -> None:
    with psycopg.connect(empty_database) as conn:
        migrate(conn, directory=migrations_copy)
        (migrations_copy / "9999_broken.sql").write_text(
            "create table public.half (id int);\nselect * from no_such_table;"
        )
        with pytest.raises(MigrationError, match=r"9999_broken\.sql failed"):
            migrate(conn, directory=migrations_copy)
        assert conn.execute("select to_regclass('public.half')").fetchone() == (None,)


def test_duplicate_migration_numbers_are_refused(migrations_copy: Path) -> None:
    first = sorted(migrations_copy.glob("*.sql"))[0]
    (migrations_copy / f"{first.name.split('_')[0]}_twin.sql").write_text("select 1;")
    with pytest.raises(MigrationError, match="is already used by"):
        discover(migrations_copy)
