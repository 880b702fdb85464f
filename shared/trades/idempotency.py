"""Idempotency keys: the first answer to (user, key), stored in the action's own transaction.

`claim` runs first in the transaction. A fresh key inserts a row that the action's commit makes
permanent (or its rollback removes). A key already used returns its stored answer; a concurrent
request with the same key waits on the row's unique index until the first one finishes.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

Conn = psycopg.Connection[dict[str, Any]]

MAX_KEY_LENGTH = 255
# A key older than a day (see `claim`) may be used again for a new request.


class KeyReused(Exception):
    """The key was first used for a different request."""


@dataclass(frozen=True)
class Replay:
    """The stored answer to a request already made with this key."""

    status: int
    body: Any


def request_hash(method: str, path: str, body: bytes) -> str:
    """A fingerprint of the request a key was first used for."""
    digest = hashlib.sha256()
    for part in (method.encode(), b"\0", path.encode(), b"\0", body):
        digest.update(part)
    return digest.hexdigest()


def claim(conn: Conn, key: str, fingerprint: str) -> Replay | None:
    """Reserve `key` for this request, or return the answer it already has; KeyReused on a mismatch."""
    inserted = conn.execute(
        "insert into idempotency_keys as k (key, request_hash) values (%s, %s)"
        " on conflict (user_id, key) do update set request_hash = excluded.request_hash, status = null,"
        " response = null, created_at = now() where k.created_at < now() - interval '24 hours'"
        " returning key",
        (key, fingerprint),
    ).fetchone()
    if inserted is not None:
        return None
    row = conn.execute(
        "select request_hash, status, response from idempotency_keys where key = %s", (key,)
    ).fetchone()
    assert row is not None
    if row["request_hash"] != fingerprint:
        raise KeyReused(key)
    return Replay(status=row["status"], body=row["response"])


def remember(conn: Conn, key: str, status: int, body: Any) -> None:
    """Store the answer to the request holding `key`."""
    conn.execute(
        "update idempotency_keys set status = %s, response = %s where key = %s",
        (status, Jsonb(orjson.loads(orjson.dumps(body, default=str))), key),
    )
