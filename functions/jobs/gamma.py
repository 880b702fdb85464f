"""The `gamma` job (every GAMMA_INTERVAL, 5 minutes by default, in market hours): gamma exposure snapshots.

For SPX, NDX, SPY, QQQ (GAMMA_SYMBOLS) and every watchlist symbol with listed options: the whole
chain (every page) and spot from Massive, the three views (all, nearest, 30d), stored in
`gamma_snapshots`. numpy loads when a run starts, never when this module is imported.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from shared.jobs.frame import JobRun
from shared.jobs.progress import Progress


def run(
    *,
    force: bool = False,
    after_close: bool = False,
    symbols: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> JobRun:
    """One gamma run under the job frame (lock, market gate, heartbeat)."""
    from shared.config import get_settings
    from shared.gamma.job import GammaRun
    from shared.jobs.frame import run_job
    from shared.jobs.specs import GAMMA
    from shared.massive.rest import default_client

    settings = get_settings()

    def work() -> dict[str, int]:
        client = default_client()
        try:
            gamma = GammaRun(
                client,
                interval_s=settings.gamma_interval_s,
                strikes_retention=timedelta(days=settings.gamma_strikes_retention_days),
                progress=progress,
            )
            return gamma.run(symbols, settings.gamma_symbols).as_counts()
        finally:
            client.close()

    return run_job(GAMMA, work, force=force, after_close=after_close)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (EventBridge schedule)."""
    from functions.lambda_context import lambda_settings

    lambda_settings()
    result = run(force=bool(event.get("force")))
    return result.summary()
