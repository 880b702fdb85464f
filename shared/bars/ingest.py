"""Historical ingestion: keep every watchlist symbol's bars current, and backfill new symbols.

Incremental first (cheap, keeps what admins chart fresh), then the backfill queue with what is
left of the run's budget. Every fetch follows Massive's pages to the end; every store is one
bulk upsert. A symbol whose backfill the budget cut short goes back to the queue uncounted:
the next run resumes from its last stored bar.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.bars.store import datetime_to_ms, last_bar_times, upsert_bars
from shared.bars.timeframes import AGGREGATE, TIMEFRAMES, Timeframe
from shared.jobs import PartialFailure
from shared.jobs.counts import RunCounts
from shared.jobs.progress import expect
from shared.logs import redact
from shared.massive.rest import DeadlineExceeded, MassiveRest
from shared.symbols import normalize_symbol

log = logging.getLogger(__name__)

BACKFILL_DAYS = 90
STUCK_AFTER = timedelta(minutes=30)
MAX_ATTEMPTS = 3
# Stop starting new fetches this close to the budget's end: one fetch must fit in what is left.
FETCH_MARGIN_S = 20.0

Progress = Callable[[str], None]


class BudgetSpent(Exception):
    """The run's time budget ran out between two fetches."""


def fetch_start(last: datetime | None, now: datetime, *, backfill_days: int = BACKFILL_DAYS) -> datetime:
    """Where a fetch starts: the last stored bar (fetched again: it may have been still forming),
    or `backfill_days` ago for a timeframe with nothing stored, never earlier than that."""
    floor = now - timedelta(days=backfill_days)
    return floor if last is None else max(last, floor)


@dataclass
class IngestCounts(RunCounts):
    symbols: int = 0
    fetches: int = 0
    bars_written: int = 0
    backfilled: int = 0
    requeued: int = 0
    failed: int = 0
    reclaimed: int = 0
    deferred: int = 0
    # Rows Massive sent that cannot be (NaN, h < l, a future bar, …): refused at the edge, never stored.
    refused: int = 0


@dataclass
class Ingestor:
    """One ingestion run; `deadline` is a time.monotonic() value."""

    client: MassiveRest
    deadline: float
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    progress: Progress | None = None
    clock: Callable[[], float] = time.monotonic
    margin_s: float = FETCH_MARGIN_S
    counts: IngestCounts = field(default_factory=IngestCounts)

    def run(self, only: Sequence[str] | None = None) -> IngestCounts:
        from shared.db import service_tx

        with service_tx() as conn:
            symbols = self._symbols(conn, only)
            conn.execute(
                "insert into ingestion_queue (symbol) select unnest(%s::text[]) on conflict (symbol) do nothing",
                (symbols,),
            )
            self.counts.reclaimed = self._reclaim(conn)
            done = [
                row["symbol"]
                for row in conn.execute(
                    "select symbol from ingestion_queue where status = 'done' and symbol = any(%s) order by symbol",
                    (symbols,),
                ).fetchall()
            ]
        self.counts.symbols = len(symbols)
        # A step per symbol and timeframe: the incremental updates, then (at most) every symbol's backfill.
        expect(self.progress, len(symbols) * len(TIMEFRAMES))
        try:
            for symbol in done:
                self._incremental(symbol)
            self._backfill(symbols)
        except BudgetSpent:
            log.info("ingest budget spent; the rest waits for the next run", extra=self.counts.as_counts())
        if self.counts.errors:
            raise PartialFailure(
                self.counts.errors, of=len(done), outcome="not updated", counts=self.counts.as_counts()
            )
        return self.counts

    # ------------------------------------------------------------------ steps

    def _symbols(self, conn: Any, only: Sequence[str] | None) -> list[str]:
        if only:
            return sorted({normalize_symbol(s) for s in only})
        rows = conn.execute("select distinct symbol from watchlist order by symbol").fetchall()
        return [row["symbol"] for row in rows]

    def _reclaim(self, conn: Any) -> int:
        """Rows a crashed run left in `processing` for over 30 minutes go back to the queue (or fail)."""
        return int(
            conn.execute(
                "update ingestion_queue set"
                " status = case when attempts >= %s then 'failed' else 'queued' end,"
                " last_error = 'reclaimed: processing for over 30 minutes', claimed_at = null, updated_at = now()"
                " where status = 'processing' and claimed_at < %s",
                (MAX_ATTEMPTS, self.now() - STUCK_AFTER),
            ).rowcount
        )

    def _incremental(self, symbol: str) -> None:
        try:
            self._fetch_all_timeframes(symbol)
        except BudgetSpent:
            raise
        except Exception as error:
            log.warning("incremental ingest failed", extra={"symbol": symbol, "error": type(error).__name__})
            self.counts.errors.append(redact(f"{symbol}: {error}")[:300])

    def _backfill(self, symbols: list[str]) -> None:
        from shared.db import service_tx

        # A symbol that failed in this run waits for the next one: an outage has time to pass.
        tried: list[str] = []
        while True:
            self._check_budget()
            with service_tx() as conn:
                row = conn.execute(
                    "update ingestion_queue set status = 'processing', attempts = attempts + 1,"
                    " claimed_at = now(), updated_at = now()"
                    " where symbol = (select symbol from ingestion_queue where status = 'queued' and symbol = any(%s)"
                    "                 and symbol <> all(%s) order by queued_at, symbol limit 1 for update skip locked)"
                    " returning symbol, attempts",
                    (symbols, tried),
                ).fetchone()
            if row is None:
                return
            symbol, attempts = row["symbol"], row["attempts"]
            tried.append(symbol)
            try:
                self._fetch_all_timeframes(symbol)
            except BudgetSpent:
                self._finish(symbol, "queued", None, attempts_back=1)
                self.counts.deferred += 1
                raise
            except Exception as error:
                message = redact(f"{type(error).__name__}: {error}")[:1000]
                final = attempts >= MAX_ATTEMPTS
                self._finish(symbol, "failed" if final else "queued", message)
                if final:
                    self.counts.failed += 1
                else:
                    self.counts.requeued += 1
                log.warning(
                    "backfill failed",
                    extra={"symbol": symbol, "attempts": attempts, "final": final, "error": type(error).__name__},
                )
                continue
            self._finish(symbol, "done", None)
            self.counts.backfilled += 1
            log.info("backfilled", extra={"symbol": symbol, "days": BACKFILL_DAYS})

    def _finish(self, symbol: str, status: str, error: str | None, *, attempts_back: int = 0) -> None:
        from shared.db import service_tx

        with service_tx() as conn:
            conn.execute(
                "update ingestion_queue set status = %s, last_error = coalesce(%s, last_error),"
                " attempts = greatest(attempts - %s, 0), claimed_at = null,"
                " finished_at = case when %s = 'done' then now() else finished_at end, updated_at = now()"
                " where symbol = %s",
                (status, error, attempts_back, status, symbol),
            )

    def _fetch_all_timeframes(self, symbol: str) -> None:
        from shared.db import service_tx

        with service_tx() as conn:
            last = last_bar_times(conn, symbol, before=self.now())
        for timeframe in TIMEFRAMES:
            self._check_budget()
            try:
                self.fetch_and_store(symbol, timeframe, last.get(timeframe))
            except DeadlineExceeded as error:
                # Massive held a fetch to the run's end: the run fails saying so, and the symbol
                # goes back to the queue without losing an attempt to our own clock.
                self.counts.errors.append(redact(f"{symbol}: {error}")[:300])
                raise BudgetSpent from None

    def fetch_and_store(self, symbol: str, timeframe: Timeframe, last: datetime | None) -> int:
        """Fetch `symbol`'s `timeframe` bars from `last` (or the backfill horizon) to now; store them."""
        from shared.db import service_tx

        now = self.now()
        multiplier, timespan = AGGREGATE[timeframe]
        start = fetch_start(last, now)
        refused_before = self.client.refused
        bars = self.client.aggregates(symbol, multiplier, timespan, datetime_to_ms(start), datetime_to_ms(now))
        self.counts.fetches += 1
        self.counts.refused += self.client.refused - refused_before
        with service_tx() as conn:
            written = upsert_bars(conn, symbol, timeframe, bars)
        self.counts.bars_written += written
        if self.progress is not None:
            # "0 bars" reads differently from "3,900 bars": a symbol Massive has nothing for stands out.
            self.progress(f"{symbol} {timeframe}: {written:,} bar{'' if written == 1 else 's'}")
        return written

    def _check_budget(self) -> None:
        if self.clock() > self.deadline - self.margin_s:
            raise BudgetSpent
