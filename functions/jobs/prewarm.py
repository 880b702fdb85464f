"""The `prewarm` job (Friday after the close, and on demand): Monday's first scan starts warm.

For every watchlist symbol: the last 5 sessions of every timeframe stored, and the indicators'
warm-up state (EMA 9/21/50, RSI 14, ATR 14, session VWAP and Monday's anchor) saved per symbol.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from shared.jobs.frame import JobRun
from shared.jobs.progress import Progress

# Left for the heartbeat after the invocation's time is spent.
LAMBDA_SAFETY_S = 30.0


def run(
    *,
    force: bool = False,
    after_close: bool = False,
    symbols: Sequence[str] | None = None,
    progress: Progress | None = None,
    budget_s: float | None = None,
) -> JobRun:
    """One pre-warm run under the job frame (lock, heartbeat); no Massive call outlasts `budget_s` when given."""
    from shared.jobs.frame import run_job
    from shared.jobs.specs import PREWARM
    from shared.massive.rest import default_client
    from shared.signals.prewarm import Prewarm

    def work() -> dict[str, int]:
        client = default_client()
        if budget_s is not None:
            client.deadline = time.monotonic() + budget_s
        try:
            return Prewarm(client, progress=progress).run(symbols)
        finally:
            client.close()

    return run_job(PREWARM, work, force=force, after_close=after_close)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (EventBridge schedule)."""
    from functions.lambda_context import lambda_settings, remaining_s

    lambda_settings()
    result = run(force=bool(event.get("force")), budget_s=max(remaining_s(context) - LAMBDA_SAFETY_S, 1.0))
    return result.summary()
