"""The process's connection pool, sized for Lambda and safe behind Supabase's transaction pooler."""

from __future__ import annotations

import threading
from typing import Any

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

_lock = threading.Lock()
_pools: dict[str, ConnectionPool[psycopg.Connection[dict[str, Any]]]] = {}


def connect_kwargs() -> dict[str, Any]:
    """Connection options every pooled connection uses.

    `prepare_threshold=None` disables server-side prepared statements, which a transaction
    pooler (Supavisor, PgBouncer) cannot carry between the transactions of one client.
    """
    return {"row_factory": dict_row, "prepare_threshold": None, "connect_timeout": 5}


def get_pool(conninfo: str, *, max_size: int = 2) -> ConnectionPool[psycopg.Connection[dict[str, Any]]]:
    """The pool for `conninfo`, created on first use; a Lambda container holds one or two connections."""
    with _lock:
        pool = _pools.get(conninfo)
        if pool is None:
            pool = ConnectionPool(
                conninfo,
                min_size=0,
                max_size=max_size,
                kwargs=connect_kwargs(),
                # A container frozen between invocations returns with dead sockets: check on checkout.
                check=ConnectionPool.check_connection,
                max_idle=60,
                timeout=5,
                open=True,
                name="honeydrip",
            )
            _pools[conninfo] = pool
        return pool


def close_pools() -> None:
    """Close every pool (tests, shutdown)."""
    with _lock:
        for pool in _pools.values():
            pool.close()
        _pools.clear()
