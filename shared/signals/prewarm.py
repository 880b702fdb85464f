"""The weekend pre-warm: the last 5 sessions of bars stored, and each symbol's warm-up state saved.

Idempotent: bars already stored with the same values and states equal to the stored ones are
left alone, so a second run writes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from shared.bars.store import datetime_to_ms, upsert_bars
from shared.bars.timeframes import AGGREGATE, TIMEFRAMES, Timeframe
from shared.jobs.progress import Progress, expect
from shared.market import calendar
from shared.massive.rest import MassiveRest
from shared.signals.warm_state import WARMUP_BARS, warm_state
from shared.symbols import normalize_symbol

log = logging.getLogger(__name__)

SESSIONS = 5


def window_start(now: datetime, sessions: int = SESSIONS) -> datetime:
    """The open of the oldest of the last `sessions` sessions up to `now`."""
    days = calendar.recent_sessions(sessions, through=now.astimezone(calendar.NEW_YORK).date())
    bounds = calendar.session_bounds(days[0])
    assert bounds is not None
    return bounds[0]


@dataclass
class Prewarm:
    client: MassiveRest
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    progress: Progress | None = None

    def run(self, only: Sequence[str] | None = None) -> dict[str, int]:
        from shared.db import service_tx

        with service_tx() as conn:
            if only:
                symbols = sorted({normalize_symbol(s) for s in only})
            else:
                symbols = [r["symbol"] for r in conn.execute("select distinct symbol from watchlist order by 1")]
        counts = {"symbols": len(symbols), "fetches": 0, "bars_written": 0, "states_changed": 0, "refused": 0}
        refused_before = self.client.refused
        now = self.now()
        start = window_start(now)
        expect(self.progress, len(symbols) * len(TIMEFRAMES))
        for symbol in symbols:
            for timeframe in TIMEFRAMES:
                multiplier, timespan = AGGREGATE[timeframe]
                bars = self.client.aggregates(symbol, multiplier, timespan, datetime_to_ms(start), datetime_to_ms(now))
                counts["fetches"] += 1
                with service_tx() as conn:
                    counts["bars_written"] += upsert_bars(conn, symbol, timeframe, bars)
                    counts["states_changed"] += self._store_state(conn, symbol, timeframe)
                if self.progress is not None:
                    self.progress(f"{symbol} {timeframe}: {len(bars):,} bar{'' if len(bars) == 1 else 's'}")
        # Bars Massive sent that cannot be: refused at the edge, never stored.
        counts["refused"] = self.client.refused - refused_before
        return counts

    def _store_state(self, conn: Any, symbol: str, timeframe: Timeframe) -> int:
        rows = conn.execute(
            "select * from (select ts, o, h, l, c, v, vw, n from historical_bars"
            " where symbol = %s and timeframe = %s order by ts desc limit %s) newest order by ts",
            (symbol, timeframe, WARMUP_BARS),
        ).fetchall()
        state = warm_state(rows, daily=timeframe == "1d")
        if state is None:
            return 0
        return int(
            conn.execute(
                "insert into indicator_state (symbol, timeframe, as_of, state) values (%s, %s, %s, %s::jsonb)"
                " on conflict (symbol, timeframe) do update set"
                " as_of = excluded.as_of, state = excluded.state, computed_at = now()"
                " where (indicator_state.as_of, indicator_state.state)"
                "   is distinct from (excluded.as_of, excluded.state)",
                (symbol, timeframe, rows[-1]["ts"], orjson.dumps(state).decode()),
            ).rowcount
        )
