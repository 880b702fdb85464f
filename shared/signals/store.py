"""The scanner's reads and writes: thresholds, watchlists, saved indicator state, and signals fired once.

Everything runs on the caller's (service_role) connection and never commits.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

import orjson
import psycopg
from pydantic import ValidationError

from shared.signals.confluence import DEFAULT_RULES, Rules, Signal
from shared.signals.warm_state import SavedState

log = logging.getLogger(__name__)
Connection = psycopg.Connection[Any]


def load_rules(conn: Connection) -> dict[str, Rules]:
    """asset class → its row of `signal_settings` (a missing row falls back to DEFAULT_RULES)."""
    rows = conn.execute(
        "select asset_class, min_score, min_rr, cooldown_minutes, expires_minutes from signal_settings"
    ).fetchall()
    rules: dict[str, Rules] = {c: DEFAULT_RULES for c in ("index", "etf", "stock")}
    for row in rows:
        rules[row["asset_class"]] = Rules(
            float(row["min_score"]), float(row["min_rr"]), int(row["cooldown_minutes"]), int(row["expires_minutes"])
        )
    return rules


def watchers(conn: Connection, only: Sequence[str] | None = None) -> dict[str, list[UUID]]:
    """symbol → the admins whose watchlist holds it (every watchlist symbol, or only `only`)."""
    rows = conn.execute(
        "select symbol, array_agg(user_id order by user_id) as users from watchlist"
        " where %s::text[] is null or symbol = any(%s::text[]) group by symbol order by symbol",
        (list(only) if only else None, list(only) if only else None),
    ).fetchall()
    return {row["symbol"]: list(row["users"]) for row in rows}


def saved_states(conn: Connection, symbol: str) -> dict[str, SavedState]:
    """timeframe → the pre-warm's saved indicator state of `symbol` (a row that does not parse is skipped)."""
    states: dict[str, SavedState] = {}
    for row in conn.execute(
        "select timeframe, state from indicator_state where symbol = %s", (symbol,)
    ).fetchall():
        try:
            states[row["timeframe"]] = SavedState.model_validate(row["state"])
        except ValidationError as error:
            # A cold start is still a correct scan; a state the scan cannot read must not stop it.
            log.warning(
                "unreadable indicator state ignored",
                extra={"symbol": symbol, "timeframe": row["timeframe"], "errors": error.error_count()},
            )
    return states


def factors_json(signal: Signal) -> list[dict[str, Any]]:
    return [{"key": f.key, "label": f.label, "value": f.value, "weight": f.weight} for f in signal.factors]


@dataclass(frozen=True)
class Fired:
    """A signal row the database accepted for one admin."""

    id: UUID
    user_id: UUID
    row: dict[str, Any]


def record_signal(
    conn: Connection, user_id: UUID, signal: Signal, rules: Rules, bar_time: datetime, now: datetime | None = None
) -> Fired | None:
    """Insert the signal for `user_id` unless its key exists or its cooldown holds; None then.

    The cooldown row and the signal are written by one statement: a concurrent scan of the same
    setup waits on the cooldown row, then finds it cooling and writes nothing. A signal already
    past its expiry at `now` (a caught-up bar) is stored `expired`, for the record, not to be posted.
    """
    candidate = signal.candidate
    until = bar_time + timedelta(minutes=rules.cooldown_minutes)
    expires = bar_time + timedelta(minutes=rules.expires_minutes)
    status = "expired" if now is not None and expires <= now else "active"
    row = conn.execute(
        "with cooled as ("
        "  insert into signal_cooldowns (user_id, symbol, detector, last_bar_time, until)"
        "  values (%(user)s, %(symbol)s, %(detector)s, %(bar_time)s, %(until)s)"
        "  on conflict (user_id, symbol, detector) do update"
        "  set last_bar_time = excluded.last_bar_time, until = excluded.until"
        "  where signal_cooldowns.until <= excluded.last_bar_time"
        "  returning 1"
        ")"
        " insert into composite_signals (user_id, symbol, detector, direction, style, score, factors, entry, stop,"
        "   targets, rr, bar_time, expires_at, status)"
        " select %(user)s, %(symbol)s, %(detector)s, %(direction)s, %(style)s, %(score)s, %(factors)s::jsonb,"
        "   %(entry)s, %(stop)s, %(targets)s, %(rr)s, %(bar_time)s, %(expires)s, %(status)s"
        " where exists (select 1 from cooled)"
        " on conflict on constraint composite_signals_once do nothing"
        " returning *",
        {
            "user": user_id,
            "symbol": signal.symbol,
            "detector": candidate.detector,
            "direction": candidate.direction,
            "style": candidate.style,
            "score": signal.score,
            "factors": orjson.dumps(factors_json(signal)).decode(),
            "entry": candidate.entry,
            "stop": signal.stop,
            "targets": list(signal.targets),
            "rr": signal.rr,
            "bar_time": bar_time,
            "until": until,
            "expires": expires,
            "status": status,
        },
    ).fetchone()
    if row is None:
        return None
    return Fired(row["id"], user_id, dict(row))


def watermark(conn: Connection, symbol: str) -> datetime | None:
    """The start of the last 1m bar of `symbol` a scan evaluated, or None before its first scan."""
    row = conn.execute("select bar_time from scan_watermarks where symbol = %s", (symbol,)).fetchone()
    return None if row is None else row["bar_time"]


def set_watermark(conn: Connection, symbol: str, bar_time: datetime) -> None:
    """Move `symbol`'s watermark to `bar_time`, never back (a slower concurrent scan cannot undo it)."""
    conn.execute(
        "insert into scan_watermarks (symbol, bar_time) values (%s, %s)"
        " on conflict (symbol) do update set bar_time = greatest(scan_watermarks.bar_time, excluded.bar_time),"
        " updated_at = now()",
        (symbol, bar_time),
    )


def mark_alerted(conn: Connection, signal_id: UUID, at: datetime) -> None:
    conn.execute("update composite_signals set alerted_at = %s where id = %s", (at, signal_id))


def expire_signals(conn: Connection, now: datetime) -> int:
    """Active signals past expires_at become `expired`; returns how many."""
    return int(
        conn.execute(
            "update composite_signals set status = 'expired' where status = 'active' and expires_at <= %s", (now,)
        ).rowcount
    )
