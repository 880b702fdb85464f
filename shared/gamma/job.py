"""One gamma run: for each symbol, the whole chain and spot from Massive, three views, one upsert.

Symbols: GAMMA_SYMBOLS (SPX, NDX, SPY, QQQ) and every watchlist symbol; a symbol whose chain is
empty has no listed options and is counted, not an error. Spot is the index's `value` for an
index and the chain's `underlying_asset.price` otherwise. A symbol Massive refuses does not stop
the others; the run fails at the end naming it, as ingestion does.

A run has a deadline (GAMMA_RUN_BUDGET_S, cut to what its Lambda has left): every Massive call
is bounded by it, and a run that reaches it starts no further symbol and ends failed, "out of
time", naming how many symbols were left. A chain is reduced page by page (ChainBuilder).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg

from shared.db import service_tx
from shared.gamma.chart import draw_missing
from shared.gamma.snapshot import ChainBuilder, snapshot
from shared.gamma.store import NonFiniteFigures, prune_strikes, upsert_snapshots
from shared.jobs import PartialFailure
from shared.jobs.counts import RunCounts
from shared.jobs.progress import Progress, expect
from shared.massive.rest import MassiveError, MassiveRest
from shared.symbols import SymbolError, normalize_symbol

log = logging.getLogger(__name__)


@dataclass
class GammaCounts(RunCounts):
    ERRORS_KEY = "failed"

    symbols: int = 0
    snapshots: int = 0
    contracts: int = 0
    contracts_without_greeks: int = 0
    unplaceable: int = 0
    without_options: int = 0
    strikes_pruned: int = 0
    # Contracts Massive sent that cannot be (NaN, open interest 1e308, …): refused at the edge.
    refused: int = 0
    charts_drawn: int = 0
    charts_failed: int = 0
    # Symbols the run had no time left to start.
    deferred: int = 0


def symbols_to_snapshot(configured: str, watchlist: Sequence[str]) -> list[str]:
    """The configured symbols (comma-separated) then the watchlist's, stored form, each once."""
    chosen: dict[str, None] = {}
    for raw in [*configured.split(","), *watchlist]:
        if not raw.strip():
            continue
        try:
            chosen[normalize_symbol(raw)] = None
        except SymbolError:
            log.warning("gamma symbol skipped: not a ticker", extra={"symbol": raw[:20]})
    return list(chosen)


class GammaRun:
    """Snapshots every symbol once, at the bucket of the run's start."""

    def __init__(
        self,
        client: MassiveRest,
        *,
        interval_s: int,
        strikes_retention: timedelta = timedelta(days=7),
        progress: Progress | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        deadline: float = math.inf,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        # A time.monotonic() instant: no symbol starts after it, and no Massive call outlasts it.
        self.deadline = deadline
        self.clock = clock
        self.interval_s = interval_s
        self.strikes_retention = strikes_retention
        self.progress = progress
        self.now = now
        self.counts = GammaCounts()

    def run(self, only: Sequence[str] | None, configured: str) -> GammaCounts:
        if only:
            symbols = symbols_to_snapshot(",".join(only), [])
        else:
            with service_tx() as conn:
                rows = conn.execute("select distinct symbol from watchlist order by symbol").fetchall()
            symbols = symbols_to_snapshot(configured, [row["symbol"] for row in rows])
        self.counts.symbols = len(symbols)
        expect(self.progress, len(symbols))
        # One instant for the whole run: every symbol's rows share its bucket, so a retry overwrites them all.
        taken_at = self.now()
        refused_before = self.client.refused
        for position, symbol in enumerate(symbols):
            if self.clock() >= self.deadline:
                self.counts.deferred = len(symbols) - position
                self.counts.errors.append(f"out of time: {self.counts.deferred} symbols not started")
                log.warning("gamma run out of time; the rest wait", extra={"deferred": self.counts.deferred})
                break
            try:
                self._one(symbol, taken_at)
            except (MassiveError, NonFiniteFigures, psycopg.Error) as error:
                self.counts.errors.append(f"{symbol}: {error}")
                log.warning("gamma snapshot failed", extra={"symbol": symbol, "error": str(error)[:300]})
            if self.progress is not None:
                self.progress(symbol)
        self.counts.refused = self.client.refused - refused_before
        # Each newest snapshot's chart, drawn once here so no request handler ever draws one; a run out of
        # time leaves them to the next (the heartbeat must come before the Lambda's timeout).
        if self.clock() < self.deadline:
            self.counts.charts_drawn, self.counts.charts_failed = draw_missing()
        with service_tx() as conn:
            self.counts.strikes_pruned = prune_strikes(conn, taken_at - self.strikes_retention)
        if self.counts.errors:
            raise PartialFailure(
                self.counts.errors, of=len(symbols), outcome="got no snapshot", counts=self.counts.as_counts()
            )
        return self.counts

    def _spot(self, symbol: str, underlying_price: float | None) -> float:
        if symbol.startswith("I:"):
            found = self.client.index_snapshot([symbol], deadline=self.deadline)
            entry = next((item for item in found if item.ticker == symbol), None)
            if entry is None or entry.error or entry.value is None or not 0 < entry.value < math.inf:
                reason = (entry.error or entry.message) if entry is not None else "absent"
                raise MassiveError(f"no value for {symbol} in Massive's index snapshot ({reason})")
            return float(entry.value)
        if underlying_price is None:
            raise MassiveError(f"Massive's chain of {symbol} carries no underlying price")
        return underlying_price

    def _one(self, symbol: str, taken_at: datetime) -> None:
        started = time.monotonic()
        refused_before = self.client.refused
        builder = ChainBuilder()
        for page in self.client.option_chain_pages(symbol, deadline=self.deadline):
            builder.add(page)
        if not len(builder) and not builder.unplaceable and self.client.refused > refused_before:
            # Nothing but impossible rows is not "no listed options": it is Massive failing us.
            refused = self.client.refused - refused_before
            raise MassiveError(f"every contract of {symbol}'s chain was impossible ({refused} refused); nothing stored")
        if not len(builder) and not builder.unplaceable:
            self.counts.without_options += 1
            log.info("gamma: no listed options", extra={"symbol": symbol})
            return
        arrays = builder.finish(taken_at)
        spot = self._spot(symbol, arrays.underlying_price)
        records = snapshot(symbol, arrays, spot, taken_at=taken_at, interval_s=self.interval_s)
        with service_tx() as conn:
            self.counts.snapshots += upsert_snapshots(conn, records)
        everything = records[0]
        self.counts.contracts += everything.contracts
        self.counts.contracts_without_greeks += everything.contracts_without_greeks
        self.counts.unplaceable += arrays.unplaceable
        if everything.gamma_scale != 1.0:
            log.warning(
                "gamma: Massive's gammas look per $0.01; rescaled",
                extra={"symbol": symbol, "ratio": everything.gamma_unit_ratio},
            )
        log.info(
            "gamma snapshot stored",
            extra={
                "symbol": symbol,
                "contracts": everything.contracts,
                "spot": spot,
                "net_gex": everything.net_gex,
                "duration_ms": round((time.monotonic() - started) * 1000),
            },
        )
