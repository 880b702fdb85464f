"""The frame every scheduled run goes through: one run per job at a time, a heartbeat every time.

A run takes a transaction-scoped advisory lock for its job on a connection of its own and holds
that transaction open while it works, so the lock survives a transaction pooler (Supavisor) and
goes away with the connection if the process dies. A run that finds the lock held is skipped.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import orjson
import psycopg

from shared.jobs.specs import JobSpec
from shared.logs import redact
from shared.market import calendar

log = logging.getLogger(__name__)

Status = Literal["ok", "skipped", "failed"]
Counts = Mapping[str, int]
MAX_ERROR_CHARS = 2000
HEARTBEAT_DAYS = 30


@dataclass(frozen=True)
class JobRun:
    """What one run did; the heartbeat row says the same."""

    job: str
    status: Status
    started_at: datetime
    finished_at: datetime
    counts: dict[str, int] = field(default_factory=dict)
    error: str | None = None

    @property
    def duration_ms(self) -> int:
        return max(0, round((self.finished_at - self.started_at).total_seconds() * 1000))

    def summary(self) -> dict[str, Any]:
        """What a job's Lambda answers: the status, the counts and the error."""
        return {"status": self.status, "counts": self.counts, "error": self.error}


def lock_key(job: str) -> int:
    """A stable signed 64-bit advisory-lock key for `job`."""
    digest = hashlib.sha256(f"honeydrip-job:{job}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


def market_gate(spec: JobSpec, now: datetime, *, force: bool, after_close: bool) -> str | None:
    """Why a run should be skipped now, or None to run it."""
    if force or not spec.market_hours or calendar.is_open(now):
        return None
    if after_close:
        bounds = calendar.session_bounds(now.astimezone(calendar.NEW_YORK).date())
        if bounds is not None and now >= bounds[1]:
            return None
    return "market closed"


def _describe(error: BaseException) -> str:
    return redact(f"{type(error).__name__}: {error}")[:MAX_ERROR_CHARS]


def write_heartbeat(conn: psycopg.Connection[Any], run: JobRun) -> None:
    """Record `run`, and forget the job's heartbeats older than HEARTBEAT_DAYS (health reads the last)."""
    conn.execute(
        "delete from job_heartbeats where job = %s and started_at < %s",
        (run.job, run.started_at - timedelta(days=HEARTBEAT_DAYS)),
    )
    conn.execute(
        "insert into job_heartbeats (job, started_at, finished_at, status, counts, duration_ms, error)"
        " values (%s, %s, %s, %s, %s::jsonb, %s, %s)",
        (
            run.job,
            run.started_at,
            run.finished_at,
            run.status,
            orjson.dumps(run.counts).decode(),
            run.duration_ms,
            run.error,
        ),
    )


def run_job(
    spec: JobSpec,
    work: Callable[[], Counts],
    *,
    force: bool = False,
    after_close: bool = False,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> JobRun:
    """Run `work` under `spec`'s lock and market gate; record and return what happened.

    `work` returns its counts; an exception it raises makes the run `failed` (logged, recorded,
    not re-raised) so one bad run never stops the schedule.
    """
    from shared.db import database_url, service_tx
    from shared.db.pool import connect_kwargs

    started = now()
    clock = time.monotonic()
    status: Status = "ok"
    counts: dict[str, int] = {}
    error: str | None = None
    with psycopg.connect(database_url(), **connect_kwargs()) as lock_conn, lock_conn.transaction():
        # The transaction stays open for the whole run: the server must not end it for idling.
        lock_conn.execute("set local idle_in_transaction_session_timeout = 0")
        row = lock_conn.execute("select pg_try_advisory_xact_lock(%s) as held", (lock_key(spec.name),)).fetchone()
        held = bool(row and row["held"])
        reason = (
            market_gate(spec, started, force=force, after_close=after_close)
            if held
            else "another run holds the lock"
        )
        if reason is not None:
            status, error = "skipped", reason
            log.info("job skipped", extra={"job": spec.name, "reason": reason})
        else:
            log.info("job started", extra={"job": spec.name, "force": force})
            try:
                counts = {k: int(v) for k, v in work().items()}
            except Exception as failure:
                status, error = "failed", _describe(failure)
                counts = {k: int(v) for k, v in getattr(failure, "counts", {}).items()}
                log.exception("job failed", extra={"job": spec.name})
        finished = started + timedelta(seconds=time.monotonic() - clock)
        run = JobRun(spec.name, status, started, finished, counts, error)
        # Written while the lock is still held, so the next run always sees this one's heartbeat.
        with service_tx() as conn:
            write_heartbeat(conn, run)
    if status != "skipped":
        log.info(
            "job finished",
            extra={"job": spec.name, "status": status, "duration_ms": run.duration_ms, **counts},
        )
    return run
