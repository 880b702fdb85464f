"""The scanner's reads and writes: thresholds, bars, the latest gamma levels, and signals fired once.

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
from psycopg import sql
from pydantic import ValidationError

from shared.bars.timeframes import Timeframe
from shared.signals.confluence import DEFAULT_RULES, Rules, Signal
from shared.signals.series import Bars, GammaLevels
from shared.signals.warm_start import SavedState

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


def stored_bars(conn: Connection, symbol: str, timeframe: Timeframe, start: datetime, end: datetime) -> Bars:
    rows = conn.execute(
        "select ts, o, h, l, c, v, vw from historical_bars"
        " where symbol = %s and timeframe = %s and ts >= %s and ts <= %s order by ts",
        (symbol, timeframe, start, end),
    ).fetchall()
    return Bars.from_rows(rows)


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


_SYMBOL_COLUMNS = ("symbol", "underlying", "ticker")
_TIME_COLUMNS = ("as_of", "taken_at", "snapshot_at", "created_at", "ts")
_LEVEL_COLUMNS = ("spot", "zero_gamma", "call_wall", "put_wall")


GAMMA_MAX_AGE = timedelta(hours=24)


def latest_gamma(conn: Connection, symbols: Sequence[str], now: datetime) -> dict[str, GammaLevels]:
    """symbol → its latest gamma snapshot's levels (the whole-chain `all` view, taken in the last
    24 hours); {} when the `gamma_snapshots` table does not exist.

    The table is the gamma job's: its symbol and time columns are found, not assumed, and any
    error reading it leaves the scan without gamma context rather than failing it.
    """
    row = conn.execute("select to_regclass('public.gamma_snapshots') is not null as present").fetchone()
    if not row or not row["present"] or not symbols:
        return {}
    columns = {
        r["column_name"]
        for r in conn.execute(
            "select column_name from information_schema.columns"
            " where table_schema = 'public' and table_name = 'gamma_snapshots'"
        ).fetchall()
    }
    symbol_col = next((c for c in _SYMBOL_COLUMNS if c in columns), None)
    time_col = next((c for c in _TIME_COLUMNS if c in columns), None)
    if symbol_col is None or time_col is None or "zero_gamma" not in columns:
        log.warning("gamma_snapshots has no symbol, time or zero_gamma column; no gamma context")
        return {}
    levels = [sql.SQL("{}::float8 as {}").format(sql.Identifier(c), sql.Identifier(c)) if c in columns
              else sql.SQL("null::float8 as {}").format(sql.Identifier(c)) for c in _LEVEL_COLUMNS]
    # The gamma job writes one row per view (all, nearest, 30d); the whole chain's is the context.
    only_all = sql.SQL(" and view = 'all'") if "view" in columns else sql.SQL("")
    query = sql.SQL(
        "select distinct on ({sym}) {sym} as symbol, {levels} from public.gamma_snapshots"
        " where {sym} = any(%s) and {at} >= %s{only_all} order by {sym}, {at} desc"
    ).format(
        sym=sql.Identifier(symbol_col), levels=sql.SQL(", ").join(levels), at=sql.Identifier(time_col),
        only_all=only_all,
    )
    try:
        with conn.transaction():
            rows = conn.execute(query, (list(symbols), now - GAMMA_MAX_AGE)).fetchall()
    except psycopg.Error:
        log.exception("reading gamma_snapshots failed; no gamma context this run")
        return {}
    return {
        r["symbol"]: GammaLevels(r["spot"], r["zero_gamma"], r["call_wall"], r["put_wall"]) for r in rows
    }


def factors_json(signal: Signal) -> list[dict[str, Any]]:
    return [{"key": f.key, "label": f.label, "value": f.value, "weight": f.weight} for f in signal.factors]


@dataclass(frozen=True)
class Fired:
    """A signal row the database accepted for one admin."""

    id: UUID
    user_id: UUID
    row: dict[str, Any]


def record_signal(conn: Connection, user_id: UUID, signal: Signal, rules: Rules, bar_time: datetime) -> Fired | None:
    """Insert the signal for `user_id` unless its key exists or its cooldown holds; None then.

    The cooldown row and the signal are written by one statement: a concurrent scan of the same
    setup waits on the cooldown row, then finds it cooling and writes nothing.
    """
    candidate = signal.candidate
    until = bar_time + timedelta(minutes=rules.cooldown_minutes)
    expires = bar_time + timedelta(minutes=rules.expires_minutes)
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
        "   targets, rr, bar_time, expires_at)"
        " select %(user)s, %(symbol)s, %(detector)s, %(direction)s, %(style)s, %(score)s, %(factors)s::jsonb,"
        "   %(entry)s, %(stop)s, %(targets)s, %(rr)s, %(bar_time)s, %(expires)s"
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
        },
    ).fetchone()
    if row is None:
        return None
    return Fired(row["id"], user_id, dict(row))


def mark_alerted(conn: Connection, signal_id: UUID, at: datetime) -> None:
    conn.execute("update composite_signals set alerted_at = %s where id = %s", (at, signal_id))


def expire_signals(conn: Connection, now: datetime) -> int:
    """Active signals past expires_at become `expired`; returns how many."""
    return int(
        conn.execute(
            "update composite_signals set status = 'expired' where status = 'active' and expires_at <= %s", (now,)
        ).rowcount
    )
