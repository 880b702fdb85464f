"""`make dev`'s scheduler: the scheduled jobs in a thread of the local API, at serverless.yml's intervals.

Each job runs every `interval_s`; a market-hours job also runs once after each session's close,
as the schedule's after-close entry does. A run goes through the same frame as on Lambda
(lock, market gate, heartbeat), so what /api/health says locally is what it says deployed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, date, datetime

from shared.jobs.specs import JOBS, JobSpec, configured
from shared.market import calendar

log = logging.getLogger(__name__)

# The first runs wait a little, so start-up (migrations, the relay) is not slowed by them.
FIRST_RUN_DELAY_S = 10.0
STOP_WAIT_S = 5.0
Runner = Callable[[JobSpec, bool], object]


class Scheduler:
    """Runs `jobs` on their intervals in one daemon thread until `stop()`.

    `runner` runs one job as its schedule would; the entry-point layer passes it
    (functions.jobs.run_scheduled), so this package never names a functions module.
    """

    def __init__(
        self,
        jobs: list[JobSpec] | None = None,
        *,
        runner: Runner,
        first_run_delay_s: float = FIRST_RUN_DELAY_S,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.jobs = jobs if jobs is not None else [configured(spec) for spec in JOBS.values()]
        self.runner = runner
        self.now = now
        self._stopping = threading.Event()
        start = time.monotonic() + first_run_delay_s
        self._due = {spec.name: start for spec in self.jobs}
        self._closed_after: dict[str, date] = {}
        self._thread = threading.Thread(target=self._loop, name="job-scheduler", daemon=True)

    def start(self) -> Scheduler:
        self._thread.start()
        log.info("job scheduler started", extra={"jobs": ",".join(f"{s.name}/{s.interval_s:.0f}s" for s in self.jobs)})
        return self

    def stop(self) -> None:
        """Stop scheduling; a run in progress gets a few seconds, then is left to the daemon thread."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(STOP_WAIT_S)
        log.info("job scheduler stopped")

    def _after_close_due(self, spec: JobSpec) -> bool:
        if not spec.market_hours:
            return False
        now = self.now()
        today = now.astimezone(calendar.NEW_YORK).date()
        bounds = calendar.session_bounds(today)
        if bounds is None or now < bounds[1] or self._closed_after.get(spec.name) == today:
            return False
        self._closed_after[spec.name] = today
        return True

    def _loop(self) -> None:
        while not self._stopping.is_set():
            for spec in self.jobs:
                if self._stopping.is_set():
                    return
                after_close = self._after_close_due(spec)
                if time.monotonic() < self._due[spec.name] and not after_close:
                    continue
                self._due[spec.name] = time.monotonic() + spec.interval_s
                try:
                    self.runner(spec, after_close)
                except Exception:  # the frame records job failures; this is the frame itself failing
                    log.exception("scheduled run could not start", extra={"job": spec.name})
            self._stopping.wait(min(1.0, max(0.05, min(self._due.values()) - time.monotonic())))
