"""The `ingest` job (every 15 minutes in market hours, and once after the close): historical bars.

Keeps every watchlist symbol's bars current and backfills 90 days for symbols new to any
watchlist, within a per-run time budget so one run never overlaps the next schedule.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from shared.jobs.frame import JobRun
from shared.jobs.progress import Progress

# Left for writing the heartbeat and returning after the budget is spent.
LAMBDA_SAFETY_S = 30.0


def run(
    *,
    force: bool = False,
    after_close: bool = False,
    symbols: Sequence[str] | None = None,
    budget_s: float | None = None,
    progress: Progress | None = None,
) -> JobRun:
    """One ingest run under the job frame (lock, market gate, heartbeat)."""
    from shared.bars.ingest import Ingestor
    from shared.config import get_settings
    from shared.jobs.frame import run_job
    from shared.jobs.specs import INGEST
    from shared.massive.rest import default_client

    budget = budget_s if budget_s is not None else get_settings().ingest_run_budget_s

    def work() -> dict[str, int]:
        deadline = time.monotonic() + budget
        client = default_client()
        client.deadline = deadline  # no Massive call (its waits included) outlasts the run's budget
        try:
            ingestor = Ingestor(client, deadline=deadline, progress=progress)
            return ingestor.run(symbols).as_counts()
        finally:
            client.close()

    return run_job(INGEST, work, force=force, after_close=after_close)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (EventBridge schedule; `{"after_close": true}` for the run after the close)."""
    from functions.lambda_context import lambda_settings, run_budget_s

    settings = lambda_settings()
    budget = run_budget_s(settings.ingest_run_budget_s, context, LAMBDA_SAFETY_S)
    result = run(force=bool(event.get("force")), after_close=bool(event.get("after_close")), budget_s=budget)
    return result.summary()
