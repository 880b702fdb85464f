"""The `gamma` job (every GAMMA_INTERVAL, 5 minutes by default, in market hours): gamma exposure snapshots.

For SPX, NDX, SPY, QQQ (GAMMA_SYMBOLS) and every watchlist symbol with listed options: the whole
chain (every page) and spot from Massive, the three views (all, nearest, 30d), stored in
`gamma_snapshots`. numpy loads when a run starts, never when this module is imported.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from shared.jobs.frame import JobRun
from shared.jobs.progress import Progress

# Left for the last symbol's upsert, the prune and the heartbeat after the budget is spent.
LAMBDA_SAFETY_S = 20.0


def run(
    *,
    force: bool = False,
    after_close: bool = False,
    symbols: Sequence[str] | None = None,
    progress: Progress | None = None,
    budget_s: float | None = None,
) -> JobRun:
    """One gamma run under the job frame (lock, market gate, heartbeat), within `budget_s` seconds."""
    from shared.config import get_settings
    from shared.gamma.job import GammaRun
    from shared.jobs.frame import run_job
    from shared.jobs.specs import GAMMA
    from shared.massive.rest import default_client

    settings = get_settings()
    budget = budget_s if budget_s is not None else settings.gamma_run_budget_s

    def work() -> dict[str, int]:
        deadline = time.monotonic() + budget
        client = default_client()
        client.deadline = deadline
        try:
            gamma = GammaRun(
                client,
                interval_s=settings.gamma_interval_s,
                strikes_retention=timedelta(days=settings.gamma_strikes_retention_days),
                progress=progress,
                deadline=deadline,
            )
            return gamma.run(symbols, settings.gamma_symbols).as_counts()
        finally:
            client.close()

    return run_job(GAMMA, work, force=force, after_close=after_close)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (EventBridge schedule)."""
    from functions.lambda_context import lambda_settings, run_budget_s

    settings = lambda_settings()
    budget = run_budget_s(settings.gamma_run_budget_s, context, LAMBDA_SAFETY_S)
    result = run(force=bool(event.get("force")), budget_s=budget)
    return result.summary()
