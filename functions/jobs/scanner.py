"""The `scanner` job (every minute in market hours): composite signals for every watchlist symbol.

Also the replay: `python -m functions run scanner --replay YYYY-MM-DD [--symbols …] [--json]`
runs a stored session through the same code and prints what would have fired, writing nothing.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import Any, TextIO

from shared.jobs.frame import JobRun
from shared.jobs.progress import Progress

# Left for the last symbol's alerts and the heartbeat after the budget is spent.
LAMBDA_SAFETY_S = 10.0


def run(
    *,
    force: bool = False,
    after_close: bool = False,
    symbols: Sequence[str] | None = None,
    progress: Progress | None = None,
    budget_s: float | None = None,
) -> JobRun:
    """One scan under the job frame (lock, market gate, heartbeat), starting no symbol after `budget_s`."""
    from shared.config import get_settings
    from shared.jobs.frame import run_job
    from shared.jobs.specs import SCANNER
    from shared.massive.rest import default_client
    from shared.signals.scanner import Scanner
    from shared.symbols import normalize_symbol

    only = sorted({normalize_symbol(s) for s in symbols}) if symbols else None
    budget = budget_s if budget_s is not None else get_settings().scanner_run_budget_s

    def work() -> dict[str, int]:
        deadline = time.monotonic() + budget
        client = default_client()
        client.deadline = deadline  # a symbol's fetch (its 429 waits included) ends with the run's budget
        try:
            scanner = Scanner(client, progress=progress, deadline=deadline)
            return scanner.run(only).as_counts()
        finally:
            client.close()

    # A signal after the close cannot be traded: the after-close run every market-hours job gets
    # from the dev scheduler is skipped like any other run outside the session.
    del after_close
    return run_job(SCANNER, work, force=force, after_close=False)


def replay_session(
    day: date,
    symbols: Sequence[str] | None,
    *,
    as_json: bool,
    out: TextIO,
    write: Callable[[str], Any] | None = None,
    keep: bool = False,
) -> int:
    """Print the signals `day`'s stored bars would have fired (JSON lines with `as_json`); returns how many.

    With `keep` (`--store`), they are then stored for the symbol's watchers as a live scan would
    store them (alerts included), so /api/signals shows a past session at any hour.
    """
    from shared.db import service_tx
    from shared.signals import store
    from shared.signals.assets import asset_class
    from shared.signals.replay import replay, session_end
    from shared.signals.scanner import load_series
    from shared.symbols import normalize_symbol

    emit = write or out.write
    total = 0
    to_store: list[tuple[str, Any]] = []
    with service_tx() as conn:
        # Read-only: a replay must never write a signal, a cooldown or a bar.
        conn.execute("set transaction read only")
        rules = store.load_rules(conn)
        names = sorted({normalize_symbol(s) for s in symbols}) if symbols else sorted(store.watchers(conn))
        for symbol in names:
            series = load_series(conn, symbol, session_end(day))
            for replayed in replay(series, day, rules[asset_class(symbol)]):
                total += 1
                to_store.append((symbol, replayed))
                row = replayed.as_json()
                if as_json:
                    emit(json.dumps(row) + "\n")
                else:
                    o = row["outcome"]
                    emit(
                        f"{row['bar_time']} {symbol:<8} {row['detector']:<24} {row['direction']:<5} {row['style']:<5}"
                        f" score {row['score']:>5.1f} entry {row['entry']:.2f} stop {row['stop']:.2f}"
                        f" T1 {row['targets'][0]:.2f} R:R {row['rr']:.2f} | best {o['best_excursion']:+.2f}"
                        f" worst {o['worst_excursion']:+.2f} T1 {'yes' if o['t1_reached'] else 'no'}"
                        f" stop-first {'yes' if o['stop_hit_first'] else 'no'}\n"
                    )
        watching = store.watchers(conn, sorted({symbol for symbol, _ in to_store})) if keep and to_store else {}
    if keep:
        from shared.signals.scanner import dispatch_stored, store_replayed

        deliveries = []
        for symbol, replayed in to_store:
            _, ids = store_replayed(symbol, watching.get(symbol, []), [replayed.signal], replayed.bar_time,
                                    rules[asset_class(symbol)])
            deliveries += ids
        dispatch_stored(deliveries)
    return total


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (EventBridge schedule, every minute)."""
    from functions.lambda_context import lambda_settings, run_budget_s

    settings = lambda_settings()
    budget = run_budget_s(settings.scanner_run_budget_s, context, LAMBDA_SAFETY_S)
    result = run(force=bool(event.get("force")), budget_s=budget)
    return result.summary()
