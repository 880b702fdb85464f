"""Idempotency keys: the first answer to (user, key), stored in the action's own transaction.

`claim` runs first in the transaction. A fresh key inserts a row that the action's commit makes
permanent (or its rollback removes). A key already used returns its stored answer, read in the
same transaction. A request whose key is in flight in another transaction does not wait holding a
connection: `claimed_tx` gives its connection back, waits, and claims again, so ten simultaneous
retries all get the first answer while other users' requests keep the pool.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
import psycopg
from psycopg.types.json import Jsonb

Conn = psycopg.Connection[dict[str, Any]]

MAX_KEY_LENGTH = 255
# A key older than a day (see `claim`) may be used again for a new request; the cleanup job
# (functions/jobs/idempotency_cleanup.py) deletes keys older than two days.
RETENTION_HOURS = 48
# How long a retry waits for the first request holding its key (the action's own statement
# timeout is 8 s), and how often it looks, with no connection held in between.
IN_FLIGHT_WAIT_S = 9.0
IN_FLIGHT_POLL_S = (0.02, 0.05, 0.1, 0.2)


class KeyReused(Exception):
    """The key was first used for a different request."""


class KeyInFlight(Exception):
    """Another transaction holds the key and has not answered yet."""


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
    """Reserve `key` for this request, or return the answer it already has; KeyReused on a mismatch.

    KeyInFlight when another transaction holds the key: the caller should end its transaction
    and claim again later, rather than wait on the key's index holding a connection.
    """
    # Every claimer of (user, key) takes this lock first, so the insert below never waits on an
    # uncommitted twin: the lock's holder is the only transaction that can have inserted it.
    held = conn.execute(
        "select pg_try_advisory_xact_lock(hashtextextended(coalesce(auth.uid()::text, '') || '/' || %s, 0)) as ok",
        (key,),
    ).fetchone()
    if held is None or not held["ok"]:
        raise KeyInFlight(key)
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


@contextmanager
def claimed_tx(
    open_tx: Callable[[], AbstractContextManager[Conn]],
    key: str | None,
    fingerprint: str,
    *,
    wait_s: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> Iterator[tuple[Conn, Replay | None]]:
    """A transaction from `open_tx` with `key` claimed in it: (conn, None) to act, (conn, Replay) to answer.

    While another request holds the key, the transaction is ended (its connection goes back to
    the pool) and a new one tries again, up to `wait_s` (IN_FLIGHT_WAIT_S); then KeyInFlight.
    """
    deadline = time.monotonic() + (IN_FLIGHT_WAIT_S if wait_s is None else wait_s)
    polls = 0
    while True:
        with open_tx() as conn:
            if key is None:
                yield conn, None
                return
            try:
                replay = claim(conn, key, fingerprint)
            except KeyInFlight:
                replay = None
                in_flight = True
            else:
                in_flight = False
            if not in_flight:
                yield conn, replay
                return
        if time.monotonic() >= deadline:
            raise KeyInFlight(key)
        sleep(IN_FLIGHT_POLL_S[min(polls, len(IN_FLIGHT_POLL_S) - 1)])
        polls += 1


def purge(conn: Conn, *, older_than_hours: int = RETENTION_HOURS) -> int:
    """Delete every user's keys older than `older_than_hours` (service role); how many went."""
    return conn.execute(
        "delete from idempotency_keys where created_at < now() - make_interval(hours => %s)", (older_than_hours,)
    ).rowcount
