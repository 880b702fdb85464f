"""`GET /api/health`: is the API up, can it reach its database, and are the scheduled jobs on time."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from importlib import metadata
from typing import Any, Literal

from flask import Blueprint
from pydantic import BaseModel, ConfigDict

from functions.web import openapi
from shared.db import default_pool, service_tx

bp = Blueprint("health", __name__)

# A check slower than this still works but makes the API "degraded".
DEGRADED_LATENCY_MS = 1000
DATABASE_TIMEOUT_S = 3.0
# A bar this far past now is not a clock's skew but a date Massive got wrong.
FUTURE_SLACK = timedelta(minutes=5)


def _version() -> str:
    try:
        return metadata.version("honeydrip-backend")
    except metadata.PackageNotFoundError:
        return "unknown"


def check_database() -> dict[str, Any]:
    """Round-trip `select 1`; `ok` false with the error class when the database cannot answer."""
    started = time.perf_counter()
    try:
        with default_pool().connection(timeout=DATABASE_TIMEOUT_S) as conn:
            conn.execute("select 1")
    except Exception as error:  # any failure here means "not reachable" to ops
        return {
            "ok": False,
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            "error": type(error).__name__,
        }
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


def check_jobs(now: datetime | None = None) -> dict[str, Any]:
    """Each job's last run, late/failed flags, the symbols whose backfill failed for good or stalled."""
    from shared.bars.freshness import stall_reason
    from shared.jobs.lateness import Heartbeat, assess
    from shared.jobs.specs import JOBS, configured

    now = now or datetime.now(UTC)
    with service_tx() as conn:
        rows = conn.execute(
            "select distinct on (job) job, started_at, finished_at, status, counts, duration_ms, error"
            " from job_heartbeats where job = any(%s) order by job, started_at desc",
            (list(JOBS),),
        ).fetchall()
        worked_rows = conn.execute(
            "select distinct on (job) job, started_at, finished_at, status, counts, duration_ms, error"
            " from job_heartbeats where job = any(%s) and status <> 'skipped' order by job, started_at desc",
            (list(JOBS),),
        ).fetchall()
        failed = conn.execute(
            "select symbol, attempts, last_error, updated_at from ingestion_queue"
            " where status = 'failed' order by symbol limit 50"
        ).fetchall()
        # One index probe per backfilled symbol (the primary key leads with symbol, timeframe, ts).
        newest = conn.execute(
            "select q.symbol,"
            " (select max(ts) from historical_bars b where b.symbol = q.symbol and b.timeframe = '1m'"
            "  and b.ts <= %(now)s) as newest,"
            " (select min(ts) from historical_bars b where b.symbol = q.symbol and b.ts > %(ahead)s) as future"
            " from ingestion_queue q where q.status = 'done' order by q.symbol limit 500",
            {"now": now, "ahead": now + FUTURE_SLACK},
        ).fetchall()
    stalled = [
        {"symbol": row["symbol"], "reason": reason}
        for row in newest
        if (reason := stall_reason(row["newest"], row["future"], now)) is not None
    ]
    last = {row["job"]: Heartbeat.model_validate(row) for row in rows}
    worked = {row["job"]: Heartbeat.model_validate(row) for row in worked_rows}
    jobs = {
        name: assess(configured(spec), last.get(name), now, worked.get(name)) for name, spec in JOBS.items()
    }
    return {
        "ok": not any(job.degraded for job in jobs.values()) and not stalled,
        "jobs": {name: job.model_dump(mode="json") for name, job in jobs.items()},
        "ingestion_failed": [
            {
                "symbol": row["symbol"],
                "attempts": row["attempts"],
                "error": row["last_error"],
                "at": row["updated_at"].isoformat(),
            }
            for row in failed
        ],
        "ingestion_stalled": stalled,
    }


class DatabaseCheck(BaseModel):
    """The database round trip: `ok`, how long it took, and the error class when it failed."""

    model_config = ConfigDict(defer_build=True)

    ok: bool
    latency_ms: float
    error: str | None = None


class JobsCheck(BaseModel):
    """Each scheduled job's last run with its late/failed flags, and the backfills that failed for good."""

    model_config = ConfigDict(defer_build=True)

    ok: bool
    jobs: dict[str, dict[str, Any]] = {}
    ingestion_failed: list[dict[str, Any]] = []
    # Backfilled symbols whose newest minute is hours behind the market, or that hold a bar dated ahead.
    ingestion_stalled: list[dict[str, str]] = []
    error: str | None = None


class HealthChecks(BaseModel):
    model_config = ConfigDict(defer_build=True)

    database: DatabaseCheck
    # Absent when the database cannot be reached (the jobs' heartbeats live there).
    jobs: JobsCheck | None = None


class Health(BaseModel):
    """Answer of `GET /api/health` (503 with the same shape when the database is down)."""

    model_config = ConfigDict(defer_build=True)

    status: Literal["ok", "degraded", "down"]
    timestamp: str
    version: str
    checks: HealthChecks


@bp.get("/api/health")
@openapi.operation(
    summary="Is the API up, can it reach its database, are the scheduled jobs on time",
    tag="meta",
    response=Health,
    auth=False,
    also=(503,),
)
def health() -> tuple[Health, int]:
    database = DatabaseCheck.model_validate(check_database())
    jobs: JobsCheck | None = None
    if database.ok:
        try:
            jobs = JobsCheck.model_validate(check_jobs())
        except Exception as error:  # the jobs' tables unreadable: report it, never a 500
            jobs = JobsCheck(ok=False, error=type(error).__name__)
    if not database.ok:
        status: Literal["ok", "degraded", "down"] = "down"
    elif database.latency_ms > DEGRADED_LATENCY_MS or (jobs is not None and not jobs.ok):
        status = "degraded"
    else:
        status = "ok"
    body = Health(
        status=status,
        timestamp=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        version=_version(),
        checks=HealthChecks(database=database, jobs=jobs),
    )
    return body, 503 if status == "down" else 200
