"""One scan: every watchlist symbol computed once, its signals fired once per watching admin, alerted.

Per symbol: the bars since the last stored ones fetched from Massive and stored, the stored
history read back, the indicators computed over it, the detectors run at every closed 1m bar since
the symbol's watermark (the last bar a scan evaluated; CATCH_UP at most, and as far back on its
first scan), and each signal written for every admin watching the symbol with its Discord
deliveries in the same transaction as the watermark's move. The deliveries are dispatched after
that transaction commits. A caught-up signal already past its expiry is stored `expired`, not posted.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import psycopg

from shared.bars.store import datetime_to_ms, last_bar_times, read_bars, upsert_bars
from shared.bars.timeframes import AGGREGATE, DURATION_MS, Timeframe
from shared.gamma.figures import GammaLevels
from shared.gamma.store import latest_levels
from shared.jobs import PartialFailure
from shared.jobs.counts import RunCounts
from shared.jobs.progress import Progress, expect
from shared.logs import redact
from shared.market import calendar
from shared.massive.rest import DeadlineExceeded, MassiveError, MassiveRest
from shared.signals import store
from shared.signals.assets import asset_class
from shared.signals.confluence import Rules, Signal
from shared.signals.embed import signal_payload
from shared.signals.evaluate import signals_at
from shared.signals.series import MINUTE_MS, Bars, SymbolSeries, series_from_bars

log = logging.getLogger(__name__)

# Sessions of history read per timeframe: 11 of 1m (today and the 10 relative volume compares
# with), enough 5m and 15m bars for EMA 50 to be warm, and 90 days of daily bars.
HISTORY_SESSIONS: dict[Timeframe, int] = {"1m": 11, "5m": 6, "15m": 10, "1d": 60}
FETCHED: tuple[Timeframe, ...] = ("1m", "5m", "15m")
# A last 1m bar older than this is stale data, not a setup (a halted or illiquid symbol).
STALE_AFTER_MS = 3 * MINUTE_MS
# How far back a scan catches up on bars it has not evaluated (a failed, throttled or deferred minute).
CATCH_UP = timedelta(minutes=15)
# A gamma snapshot older than this is no context for a setup.
GAMMA_MAX_AGE = timedelta(hours=24)


def gamma_context(conn: psycopg.Connection[Any], symbols: Sequence[str], now: datetime) -> dict[str, GammaLevels]:
    """symbol → its latest whole-chain gamma levels of the last 24 hours, read through the gamma package.

    Any error reading them leaves the scan without gamma context rather than failing it.
    """
    try:
        with conn.transaction():
            return latest_levels(conn, symbols, now - GAMMA_MAX_AGE)
    except psycopg.Error:
        log.exception("reading gamma_snapshots failed; no gamma context this run")
        return {}


def history_start(timeframe: Timeframe, today: date) -> datetime:
    """The open of the oldest session `timeframe`'s history reaches back to."""
    oldest = calendar.recent_sessions(HISTORY_SESSIONS[timeframe], through=today)[0]
    bounds = calendar.session_bounds(oldest)
    assert bounds is not None
    return bounds[0]


def load_series(
    conn: Any, symbol: str, end: datetime, gamma: GammaLevels | None = None, *, completed: bool = True
) -> SymbolSeries:
    """The symbol's series from stored bars up to `end` (only bars closed by then when `completed`),
    its higher timeframes continued from the pre-warmed indicator state where that joins the bars."""
    today = end.astimezone(calendar.NEW_YORK).date()
    end_ms = datetime_to_ms(end)
    by_tf: dict[str, Bars] = {}
    for timeframe in HISTORY_SESSIONS:
        bars = Bars.from_rows(read_bars(conn, symbol, timeframe, history_start(timeframe, today), end))
        by_tf[timeframe] = bars.completed_by(end_ms, DURATION_MS[timeframe]) if completed else bars
    return series_from_bars(symbol, asset_class(symbol), by_tf, gamma, store.saved_states(conn, symbol))


@dataclass
class ScanCounts(RunCounts):
    symbols: int = 0
    fetches: int = 0
    fetch_errors: int = 0
    signals: int = 0
    deliveries: int = 0
    expired: int = 0
    deferred: int = 0
    # Symbols whose newest bar is too old to scan (the market is closed, or ingestion is behind).
    stale: int = 0
    # Bars Massive sent that cannot be (NaN, h < l, a future bar, …): refused at the edge, never stored.
    refused: int = 0
    # Closed 1m bars evaluated: one a symbol a minute, more when a scan catches up on missed ones.
    bars_evaluated: int = 0
    # Caught-up signals already past their expiry: stored `expired`, not posted.
    late: int = 0


def bars_to_evaluate(starts_ms: Sequence[int], mark: datetime | None, now: datetime) -> list[int]:
    """Indices of the closed 1m bars (starts in epoch ms, ascending) a scan evaluates: those after the
    watermark `mark`, within CATCH_UP of `now` (all of that window on a symbol's first scan)."""
    floor = datetime_to_ms(now - CATCH_UP)
    after = floor if mark is None else max(floor, datetime_to_ms(mark) + 1)
    return [i for i, start in enumerate(starts_ms) if start >= after]


def _dispatch_default(delivery_ids: Sequence[UUID]) -> None:
    from shared.delivery.dispatch import dispatch_after_commit

    dispatch_after_commit(delivery_ids)


@dataclass
class Scanner:
    """One scan; `client` None scans the stored bars only (no incremental fetch).

    `deadline` (a time.monotonic() value) stops it starting new symbols; the symbols left are
    counted as deferred. The order rotates with the minute, so no symbol is always the one left.
    """

    client: MassiveRest | None
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    dispatch: Callable[[Sequence[UUID]], None] = _dispatch_default
    progress: Progress | None = None
    deadline: float = float("inf")
    clock: Callable[[], float] = time.monotonic
    counts: ScanCounts = field(default_factory=ScanCounts)

    def run(self, only: Sequence[str] | None = None) -> ScanCounts:
        from shared.db import service_tx

        now = self.now()
        with service_tx() as conn:
            self.counts.expired = store.expire_signals(conn, now)
            by_symbol = store.watchers(conn, only)
            rules = store.load_rules(conn)
            gamma = gamma_context(conn, list(by_symbol), now)
        self.counts.symbols = len(by_symbol)
        expect(self.progress, len(by_symbol))
        order = list(by_symbol)
        if order:
            shift = int(now.timestamp() // 60) % len(order)
            order = order[shift:] + order[:shift]
        for position, symbol in enumerate(order):
            if self.clock() >= self.deadline:
                self.counts.deferred = len(order) - position
                log.warning("scan budget spent; the rest wait", extra={"deferred": self.counts.deferred})
                break
            users = by_symbol[symbol]
            try:
                self._scan(symbol, users, rules[asset_class(symbol)], gamma.get(symbol), now)
            except Exception as error:  # one symbol's trouble never stops the others
                log.exception("scan of a symbol failed", extra={"symbol": symbol})
                self.counts.errors.append(redact(f"{symbol}: {type(error).__name__}: {error}")[:200])
            if self.progress is not None:
                self.progress(symbol)
        if self.counts.errors:
            raise PartialFailure(
                self.counts.errors, of=len(by_symbol), outcome="not scanned", counts=self.counts.as_counts()
            )
        return self.counts

    def _scan(self, symbol: str, users: list[UUID], rules: Rules, gamma: GammaLevels | None, now: datetime) -> None:
        from shared.db import service_tx

        self._fetch_recent(symbol, now)
        with service_tx() as conn:
            series = load_series(conn, symbol, now, gamma)
            mark = store.watermark(conn, symbol)
        bars = series.minute.bars
        if len(bars) == 0 or int(bars.t[-1]) + MINUTE_MS < datetime_to_ms(now) - STALE_AFTER_MS:
            self.counts.stale += 1
            return
        due = bars_to_evaluate([int(t) for t in bars.t], mark, now)
        found: list[tuple[datetime, list[Signal]]] = []
        for i in due:
            self.counts.bars_evaluated += 1
            signals = signals_at(series.view(i), rules)
            if signals:
                found.append((datetime.fromtimestamp(int(bars.t[i]) / 1000, tz=UTC), signals))
        newest = datetime.fromtimestamp(int(bars.t[-1]) / 1000, tz=UTC)
        delivery_ids = self._fire(symbol, users, found, rules, now, newest)
        if delivery_ids:
            self.dispatch(delivery_ids)

    def _fetch_recent(self, symbol: str, now: datetime) -> None:
        """Bars since the last stored ones (from today's open at the earliest), stored as ingestion would."""
        from shared.db import service_tx

        if self.client is None:
            return
        today = calendar.session_bounds(now.astimezone(calendar.NEW_YORK).date())
        if today is None:
            return
        with service_tx() as conn:
            last = last_bar_times(conn, symbol, before=now)
        now_ms = datetime_to_ms(now)
        for timeframe in FETCHED:
            stored = last.get(timeframe)
            # Nothing new can have closed while the newest stored bar is still forming.
            if stored is not None and datetime_to_ms(stored) + DURATION_MS[timeframe] > now_ms:
                continue
            start = max(stored or today[0], today[0])
            multiplier, timespan = AGGREGATE[timeframe]
            refused_before = self.client.refused
            try:
                fetched = self.client.aggregates(
                    symbol, multiplier, timespan, datetime_to_ms(start), datetime_to_ms(now)
                )
            except DeadlineExceeded:
                raise  # the run's time is spent: this symbol fails saying so, the watermark stays
            except MassiveError as error:
                # The stored bars still make a scan; ingestion catches up later.
                self.counts.fetch_errors += 1
                log.warning(
                    "scan fetch failed", extra={"symbol": symbol, "timeframe": timeframe, "error": redact(str(error))}
                )
                continue
            self.counts.fetches += 1
            self.counts.refused += self.client.refused - refused_before
            with service_tx() as conn:
                upsert_bars(conn, symbol, timeframe, fetched)

    def _fire(
        self,
        symbol: str,
        users: list[UUID],
        found: list[tuple[datetime, list[Signal]]],
        rules: Rules,
        now: datetime,
        evaluated_through: datetime,
    ) -> list[UUID]:
        """Store `found` (oldest bar first) for every watcher, alert the live ones, move the watermark: one tx."""
        from shared.db import service_tx
        from shared.delivery.outbox import channels_for_action, enqueue_deliveries

        delivery_ids: list[UUID] = []
        fired_count = late = 0
        with service_tx() as conn:
            for _, signals in found:
                for signal in signals:
                    bar_time = datetime.fromtimestamp(signal.candidate.bar_time_ms / 1000, tz=UTC)
                    payload = signal_payload(signal, bar_time)
                    for user_id in users:
                        fired = store.record_signal(conn, user_id, signal, rules, bar_time, now)
                        if fired is None:
                            continue
                        fired_count += 1
                        if fired.row.get("status") == "expired":
                            late += 1  # a missed minute's signal, too old to act on: kept, not posted
                            continue
                        channels = channels_for_action(conn, user_id, "signal")
                        if not channels:
                            continue
                        ids = enqueue_deliveries(conn, user_id=user_id, channel_ids=channels, payload=payload)
                        delivery_ids.extend(ids)
                        store.mark_alerted(conn, fired.id, now)
            store.set_watermark(conn, symbol, evaluated_through)
        # Counted once committed: a symbol whose transaction rolled back fired nothing.
        self.counts.signals += fired_count
        self.counts.late += late
        self.counts.deliveries += len(delivery_ids)
        return delivery_ids


def store_replayed(
    symbol: str, users: list[UUID], signals: list[Signal], bar_time: datetime, rules: Rules
) -> tuple[int, list[UUID]]:
    """Store replayed `signals` for `users` as a live scan would, alerting their signal channels.

    For `run scanner --replay DAY --store` (make dev at any hour): the same rows, cooldowns and
    outbox deliveries, so /api/signals and the signals channel show a past session's output.
    Returns how many rows were stored and the deliveries to dispatch after commit.
    """
    from shared.db import service_tx
    from shared.delivery.outbox import channels_for_action, enqueue_deliveries

    stored, delivery_ids = 0, []
    with service_tx() as conn:
        for signal in signals:
            payload = signal_payload(signal, bar_time)
            for user_id in users:
                fired = store.record_signal(conn, user_id, signal, rules, bar_time)
                if fired is None:
                    continue
                stored += 1
                channels = channels_for_action(conn, user_id, "signal")
                if channels:
                    delivery_ids += enqueue_deliveries(conn, user_id=user_id, channel_ids=channels, payload=payload)
                    store.mark_alerted(conn, fired.id, datetime.now(UTC))
    return stored, delivery_ids


def dispatch_stored(delivery_ids: Sequence[UUID]) -> None:
    """Deliver what store_replayed queued (after its commit)."""
    if delivery_ids:
        _dispatch_default(delivery_ids)
