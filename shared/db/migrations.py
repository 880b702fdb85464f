"""Our migration runner: applies `supabase/migrations/NNNN_name.sql` in order, once each.

The same files go to a Supabase project with `supabase db push`; this runner is for plain
Postgres (local, CI, the embedded server) and for deployments that prefer it.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import psycopg
from psycopg import sql
from psycopg.rows import tuple_row

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "supabase" / "migrations"
_FILENAME = re.compile(r"^(\d+)_([a-z0-9_]+)\.sql$")
# A schema of its own, so PostgREST never exposes the runner's bookkeeping.
_LEDGER = "honeydrip_meta.schema_migrations"
# Serialises concurrent runners (two deploys, parallel test sessions) on one database.
_ADVISORY_LOCK_KEY = 0x48445F4D4947  # "HD_MIG"


class MigrationError(RuntimeError):
    """A migration set that cannot be applied safely; the message says which file and why."""


@dataclass(frozen=True)
class Migration:
    version: str
    name: str
    path: Path
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Every migration file in `directory`, ordered; duplicate numbers or bad names are refused."""
    found: dict[str, Migration] = {}
    for path in sorted(directory.glob("*.sql")):
        match = _FILENAME.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_snake_name.sql")
        version, name = match.groups()
        if version in found:
            raise MigrationError(f"{path.name}: number {version} is already used by {found[version].path.name}")
        found[version] = Migration(version, name, path, path.read_text(encoding="utf-8"))
    return [found[v] for v in sorted(found, key=int)]


def compat_sql() -> str:
    """The statements that give a plain Postgres Supabase's roles and auth functions."""
    return resources.files("shared.db").joinpath("compat.sql").read_text(encoding="utf-8")


def apply_compat(conn: psycopg.Connection) -> None:
    """Create what Supabase provides (roles, `auth.uid()`), changing nothing where it exists."""
    with conn.transaction():
        conn.execute(compat_sql().encode())  # a trusted file of ours, not user input


def _ensure_ledger(conn: psycopg.Connection) -> None:
    conn.execute("create schema if not exists honeydrip_meta")
    conn.execute(
        sql.SQL(
            "create table if not exists {} ("
            " version text primary key, name text not null, checksum text not null,"
            " applied_at timestamptz not null default now())"
        ).format(sql.SQL(_LEDGER))
    )


def applied(conn: psycopg.Connection) -> dict[str, str]:
    """version → checksum of every migration this database has recorded."""
    with conn.transaction():
        _ensure_ledger(conn)
        with conn.cursor(row_factory=tuple_row) as cur:
            rows = cur.execute(sql.SQL("select version, checksum from {}").format(sql.SQL(_LEDGER))).fetchall()
    return {str(version): str(checksum) for version, checksum in rows}


def migrate(
    conn: psycopg.Connection,
    *,
    directory: Path = MIGRATIONS_DIR,
    with_compat: bool = True,
) -> list[str]:
    """Apply pending migrations in order, each in its own transaction; return the versions applied.

    Refuses, before applying anything, when a recorded migration's file changed or vanished.
    """
    migrations = discover(directory)
    conn.autocommit = True
    conn.execute("select pg_advisory_lock(%s)", (_ADVISORY_LOCK_KEY,))
    try:
        if with_compat:
            apply_compat(conn)
        done = applied(conn)
        by_version = {m.version: m for m in migrations}
        for version, checksum in sorted(done.items(), key=lambda item: int(item[0])):
            migration = by_version.get(version)
            if migration is None:
                raise MigrationError(f"migration {version} is recorded as applied but its file is missing")
            if migration.checksum != checksum:
                raise MigrationError(
                    f"{migration.path.name} changed after it was applied; "
                    "add a new migration instead of editing an applied one"
                )
        newly: list[str] = []
        for migration in migrations:
            if migration.version in done:
                continue
            with conn.transaction():
                try:
                    conn.execute(migration.sql.encode())  # our own migration file
                except psycopg.Error as error:
                    raise MigrationError(f"{migration.path.name} failed: {error}") from error
                conn.execute(
                    sql.SQL("insert into {} (version, name, checksum) values (%s, %s, %s)").format(
                        sql.SQL(_LEDGER)
                    ),
                    (migration.version, migration.name, migration.checksum),
                )
            log.info("migration applied", extra={"migration": migration.path.name})
            newly.append(migration.version)
        return newly
    finally:
        conn.execute("select pg_advisory_unlock(%s)", (_ADVISORY_LOCK_KEY,))
