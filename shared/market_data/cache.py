"""A cache of Massive's answers in Postgres, shared by every Lambda container, with in-flight coalescing.

`fetch_through(key, ...)` answers from a fresh row, or takes a transaction-scoped advisory lock on
the key, looks again (a concurrent request may have filled it while we waited), and only then
calls Massive and stores the answer. Twenty admins opening one chain within its life cost one
upstream call; behind a transaction pooler it holds nothing past its transaction. A refusal
(429, 403, 404, a timeout) is stored too, for a few seconds, and raised again to whoever asks.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
import psycopg

from shared.massive.errors import (
    DeadlineExceeded,
    EntitlementError,
    MassiveError,
    NotConfigured,
    NotFoundError,
    RateLimitedError,
    TooLargeError,
    UnavailableError,
    UpstreamTimeout,
)

log = logging.getLogger(__name__)

# How long a refusal is answered from the cache: Massive's rate limit takes minutes to clear, a
# plan's entitlements change rarely, an unknown ticker stays unknown, a timeout may pass at once.
ERROR_TTL_S: dict[type[MassiveError], float] = {
    RateLimitedError: 10.0,
    EntitlementError: 60.0,
    NotFoundError: 30.0,
    UpstreamTimeout: 2.0,
    UnavailableError: 2.0,
    NotConfigured: 2.0,
    DeadlineExceeded: 2.0,
    TooLargeError: 10.0,
    MassiveError: 2.0,
}
_ERRORS = {kind.__name__: kind for kind in ERROR_TTL_S}
# Rows this long expired are deleted by the next fill.
_KEEP_EXPIRED = "10 minutes"


class CacheBusy(Exception):
    """The request waited its whole budget for another's fetch of the same key."""


@dataclass(frozen=True)
class Cached:
    """A fresh answer and when Massive gave it."""

    value: Any
    fetched_at: datetime
    hit: bool


def _error_ttl(error: MassiveError) -> float:
    for kind in type(error).__mro__:
        if kind in ERROR_TTL_S:
            return ERROR_TTL_S[kind]
    return 2.0


def _from_row(row: dict[str, Any], *, hit: bool) -> Cached:
    if row["kind"] == "error":
        kind = _ERRORS.get(row["body"].get("type"), MassiveError)
        raise kind(row["body"].get("message", "Massive refused this request"))
    return Cached(row["body"], row["fetched_at"], hit)


def _store(conn: psycopg.Connection[Any], key: str, kind: str, body: Any, ttl_s: float) -> dict[str, Any]:
    row = conn.execute(
        "insert into honeydrip.market_cache (key, kind, body, fetched_at, expires_at)"
        " values (%s, %s, %s::jsonb, clock_timestamp(), clock_timestamp() + make_interval(secs => %s))"
        " on conflict (key) do update set kind = excluded.kind, body = excluded.body,"
        " fetched_at = excluded.fetched_at, expires_at = excluded.expires_at"
        " returning kind, body, fetched_at",
        (key, kind, orjson.dumps(body).decode(), ttl_s),
    ).fetchone()
    assert row is not None
    return dict(row)


def _refusal(error: MassiveError) -> dict[str, str]:
    """A refusal as stored, so `_from_row` raises the same kind again."""
    return {"type": type(error).__name__, "message": str(error)[:500]}


def fetch_through(key: str, ttl_s: float, fetch: Callable[[], Any], *, wait_s: float) -> Cached:
    """The cached answer for `key`, or `fetch()`'s (JSON-able) stored for `ttl_s`; MassiveError re-raised.

    Waits at most `wait_s` for another request's fetch of the same key (CacheBusy past that).
    """
    answer = fetch_many([key], ttl_s, lambda _: {key: fetch()}, wait_s=wait_s)[key]
    if isinstance(answer, MassiveError):
        # Raised only once the transaction that stored the refusal has committed.
        raise answer
    return answer


def fetch_many(
    keys: list[str], ttl_s: float, fetch: Callable[[list[str]], dict[str, Any]], *, wait_s: float
) -> dict[str, Cached | MassiveError]:
    """Each key's cached answer, the missing ones fetched in one call (`fetch(missing)` → key → value).

    `fetch` may answer a key with a MassiveError (stored as that refusal); a key it does not answer
    is stored as NotFoundError. Keys are locked in sorted order, so
    two requests for overlapping sets never deadlock.
    """
    from shared.db import service_tx

    def read(conn: psycopg.Connection[Any], wanted: list[str]) -> dict[str, dict[str, Any]]:
        rows = conn.execute(
            "select key, kind, body, fetched_at from honeydrip.market_cache"
            " where key = any(%s) and expires_at > clock_timestamp()",
            (wanted,),
        ).fetchall()
        return {row["key"]: row for row in rows}

    def outcome(row: dict[str, Any], hit: bool) -> Cached | MassiveError:
        try:
            return _from_row(row, hit=hit)
        except MassiveError as error:
            return error

    with service_tx() as conn:
        found = read(conn, keys)
    answers = {key: outcome(row, True) for key, row in found.items()}
    missing = sorted(set(keys) - set(found))
    if not missing:
        return answers
    try:
        with service_tx() as conn:
            conn.execute(f"set local lock_timeout = '{max(int(wait_s * 1000), 1)}ms'")
            for key in missing:
                conn.execute("select pg_advisory_xact_lock(hashtextextended(%s, 21))", (key,))
            found = read(conn, missing)
            answers.update({key: outcome(row, True) for key, row in found.items()})
            still = [key for key in missing if key not in found]
            if still:
                try:
                    fetched = fetch(still)
                except MassiveError as error:
                    log.info("market data refused upstream", extra={"keys": still, "error": type(error).__name__})
                    for key in still:
                        answers[key] = outcome(_store(conn, key, "error", _refusal(error), _error_ttl(error)), False)
                else:
                    for key in still:
                        value = fetched.get(key)
                        if isinstance(value, MassiveError):
                            row = _store(conn, key, "error", _refusal(value), _error_ttl(value))
                        elif key in fetched:
                            row = _store(conn, key, "ok", value, ttl_s)
                        else:
                            absent = {"type": "NotFoundError", "message": f"Massive has no {key}"}
                            row = _store(conn, key, "error", absent, ERROR_TTL_S[NotFoundError])
                        answers[key] = outcome(row, False)
                # Once per fill, not per key: rows long expired go.
                conn.execute(
                    "delete from honeydrip.market_cache where expires_at < clock_timestamp() - %s::interval",
                    (_KEEP_EXPIRED,),
                )
    except psycopg.errors.LockNotAvailable:
        raise CacheBusy(f"waited {wait_s:.0f} s for another request's fetch of {', '.join(missing)}") from None
    return answers
