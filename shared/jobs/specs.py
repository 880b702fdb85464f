"""Every scheduled job, its interval, and whether it only runs in market hours.

Cheap to import (the health check reads it); the intervals match serverless.yml's schedules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,62}$")


@dataclass(frozen=True)
class JobSpec:
    """A scheduled job; its Lambda (`handler` and `run`) lives in the entry-point layer, functions/jobs/<name>.py."""

    name: str
    interval_s: float
    market_hours: bool
    summary: str

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"{self.name!r} is not a job name")



INGEST = JobSpec(
    "ingest",
    interval_s=15 * 60,
    market_hours=True,
    summary="historical bars for every watchlist symbol, and the 90-day backfill of new ones",
)
PREWARM = JobSpec(
    "prewarm",
    interval_s=7 * 24 * 3600,
    market_hours=False,
    summary="the last 5 sessions of bars and the indicators' warm-up state, for Monday's open",
)

SCANNER = JobSpec(
    "scanner",
    interval_s=60,
    market_hours=True,
    summary="composite signals for every watchlist symbol, alerted once to each watching admin",
)

GAMMA = JobSpec(
    "gamma",
    interval_s=5 * 60,
    market_hours=True,
    summary="gamma exposure snapshots (all, nearest, 30d) of SPX, NDX, SPY, QQQ and the watchlist's optionable symbols",
)

JOBS: dict[str, JobSpec] = {spec.name: spec for spec in (INGEST, PREWARM, GAMMA, SCANNER)}


def configured(spec: JobSpec) -> JobSpec:
    """`spec` with the interval this deployment configured (GAMMA_INTERVAL for `gamma`)."""
    if spec.name != GAMMA.name:
        return spec
    from shared.config import get_settings

    return replace(spec, interval_s=float(get_settings().gamma_interval_s))
