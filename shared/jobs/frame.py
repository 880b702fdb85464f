"""The frame every scheduled run goes through: one run per job at a time, a heartbeat every time.

A run takes a transaction-scoped advisory lock for its job on a connection of its own and holds
that transaction open while it works, so the lock survives a transaction pooler (Supavisor) and
goes away with the connection if the process dies. A run that finds the lock held is skipped.

Every heartbeat is written on that held connection, in the lock's transaction: a skipped run
needs no second connection (a pool with none to give cannot turn a skip into a traceback), and a
database that gives no connection at all ends the run with one line in the log, never a traceback.
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
from psycopg_pool import PoolTimeout

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


def _as_service(conn: psycopg.Connection[Any]) -> None:
    """The rest of the lock's transaction runs as service_role, as service_tx does (RLS bypassed, our schema)."""
    from shared.db import SCHEMA

    conn.execute(
        "select set_config('role', 'service_role', true), set_config('search_path', %s, true)", (SCHEMA,)
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
    from shared.db import database_url
    from shared.db.pool import connect_kwargs

    started = now()
    clock = time.monotonic()
    status: Status = "ok"
    counts: dict[str, int] = {}
    error: str | None = None
    try:
        lock_conn = psycopg.connect(database_url(), **connect_kwargs())
    except psycopg.OperationalError as failure:
        # Nowhere to write a heartbeat: the log line and the run's answer say it.
        error = _describe(failure).splitlines()[0]
        log.error("job failed: the database gave no connection", extra={"job": spec.name, "error": error})
        return JobRun(spec.name, "failed", started, started + timedelta(seconds=time.monotonic() - clock), {}, error)
    with lock_conn, lock_conn.transaction():
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
            except (PoolTimeout, psycopg.OperationalError) as failure:
                status, error = "failed", _describe(failure).splitlines()[0]
                counts = {k: int(v) for k, v in getattr(failure, "counts", {}).items()}
                log.error("job failed: the database gave no connection", extra={"job": spec.name, "error": error})
            except Exception as failure:
                status, error = "failed", _describe(failure)
                counts = {k: int(v) for k, v in getattr(failure, "counts", {}).items()}
                log.exception("job failed", extra={"job": spec.name})
        finished = started + timedelta(seconds=time.monotonic() - clock)
        run = JobRun(spec.name, status, started, finished, counts, error)
        # Written in the lock's transaction, so the next run always sees this one's heartbeat.
        _as_service(lock_conn)
        write_heartbeat(lock_conn, run)
    if status != "skipped":
        log.info(
            "job finished",
            extra={"job": spec.name, "status": status, "duration_ms": run.duration_ms, **counts},
        )
    return run
