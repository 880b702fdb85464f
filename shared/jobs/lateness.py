"""Is a job late or failing? The health check's answer, from each job's last heartbeat."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from shared.jobs.specs import JobSpec
from shared.market import calendar


class Heartbeat(BaseModel):
    """A `job_heartbeats` row."""

    model_config = ConfigDict(defer_build=True)

    job: str
    started_at: datetime
    finished_at: datetime
    status: Literal["ok", "skipped", "failed"]
    counts: dict[str, Any]
    duration_ms: int
    error: str | None = None


class JobHealth(BaseModel):
    """One job as /api/health reports it."""

    model_config = ConfigDict(defer_build=True)

    job: str
    interval_s: float
    last_run: Heartbeat | None
    late: bool
    failed: bool

    @property
    def degraded(self) -> bool:
        return self.late or self.failed


def assess(spec: JobSpec, last: Heartbeat | None, now: datetime, last_worked: Heartbeat | None = None) -> JobHealth:
    """Late: in market hours, no run that did its work (ok or failed) for twice the interval,
    counting from today's open at the earliest so the first minutes of a session are not late.
    Skipped runs do not count: a run stuck holding the lock makes every later one skip.
    A job that never ran is not late: a fresh deployment is not an outage."""
    if last_worked is None and last is not None and last.status != "skipped":
        last_worked = last
    late = False
    if last is not None and calendar.is_open(now):
        bounds = calendar.session_bounds(now.astimezone(calendar.NEW_YORK).date())
        assert bounds is not None  # open implies a session today
        worked = last_worked.started_at if last_worked is not None else bounds[0]
        since = max(worked, bounds[0])
        late = now - since > timedelta(seconds=2 * spec.interval_s)
    return JobHealth(
        job=spec.name,
        interval_s=spec.interval_s,
        last_run=last,
        late=late,
        failed=last is not None and last.status == "failed",
    )
