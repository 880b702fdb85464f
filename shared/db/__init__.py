"""Postgres access: one pool per process, user transactions under RLS, service transactions for jobs.

`user_tx` does what PostgREST does for a request: one transaction, `set local role
authenticated`, and the verified JWT claims in `request.jwt.claims`, so the database's
row-level security decides what the user can see and change.

Our tables live in schema `honeydrip` (never exposed by Supabase's Data API). Each transaction
sets its own `search_path` with `set_config(…, true)`: behind a transaction pooler (Supavisor,
PgBouncer in transaction mode) a session-level `SET` would not follow the next transaction.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import orjson
import psycopg
from psycopg_pool import ConnectionPool

from shared.auth import VerifiedToken
from shared.config import Settings, get_settings
from shared.db.pool import get_pool

Connection = psycopg.Connection[dict[str, Any]]

# The schema holding every table, view, sequence and function of ours (migration 0011).
SCHEMA = "honeydrip"

# Long enough for any request we serve; short enough that a stuck query frees the connection.
USER_STATEMENT_TIMEOUT = "8s"

_url_lock = threading.Lock()
_resolved_url: str | None = None


def database_url(settings: Settings | None = None) -> str:
    """DATABASE_URL, or the embedded server's URL (started and migrated on first use)."""
    global _resolved_url
    settings = settings or get_settings()
    if settings.database_url is not None:
        return settings.database_url.get_secret_value()
    with _url_lock:
        if _resolved_url is None:
            # Only local use and tests get here: a deployed function never imports the embedded server.
            from shared.db.embedded import start_embedded
            from shared.db.migrations import migrate

            url = start_embedded()
            with psycopg.connect(url) as conn:
                migrate(conn)
            _resolved_url = url
        return _resolved_url


def default_pool() -> ConnectionPool[Connection]:
    """The pool for this process's database."""
    settings = get_settings()
    return get_pool(database_url(settings), max_size=settings.db_pool_max_size)


def _claims_json(claims: dict[str, Any]) -> str:
    return orjson.dumps(claims, default=str).decode()


@contextmanager
def user_tx(token: VerifiedToken, *, pool: ConnectionPool[Connection] | None = None) -> Iterator[Connection]:
    """One transaction as role `authenticated` with `token`'s claims: RLS applies to everything in it."""
    with (pool or default_pool()).connection() as conn, conn.transaction():
        conn.execute(
            "select set_config('role', 'authenticated', true),"
            " set_config('request.jwt.claims', %s, true),"
            " set_config('statement_timeout', %s, true),"
            " set_config('search_path', %s, true)",
            (_claims_json(token.claims), USER_STATEMENT_TIMEOUT, SCHEMA),
        )
        yield conn


@contextmanager
def service_tx(*, pool: ConnectionPool[Connection] | None = None) -> Iterator[Connection]:
    """One transaction as `service_role`, which bypasses RLS: for scheduled jobs and delivery."""
    with (pool or default_pool()).connection() as conn, conn.transaction():
        conn.execute(
            "select set_config('role', 'service_role', true), set_config('request.jwt.claims', %s, true),"
            " set_config('search_path', %s, true)",
            (_claims_json({"role": "service_role"}), SCHEMA),
        )
        yield conn


def reset_for_tests() -> None:
    """Forget the resolved URL and close pools, so new settings take effect."""
    global _resolved_url
    from shared.db.pool import close_pools

    close_pools()
    with _url_lock:
        _resolved_url = None


__all__ = ["SCHEMA", "Connection", "database_url", "default_pool", "reset_for_tests", "service_tx", "user_tx"]
