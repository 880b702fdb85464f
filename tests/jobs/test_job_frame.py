"""The job frame: one run per job at a time, a heartbeat per run, the market gate, health per job."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from flask.testing import FlaskClient

from shared.config import Settings
from shared.jobs.frame import JobRun, lock_key, market_gate, run_job
from shared.jobs.lateness import Heartbeat, assess
from shared.jobs.specs import INGEST, PREWARM

IN_SESSION = datetime(2026, 11, 25, 16, 0, tzinfo=UTC)  # Wednesday 11:00 New York
SATURDAY = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)
AFTER_CLOSE = datetime(2026, 11, 25, 21, 20, tzinfo=UTC)  # 16:20 New York


def heartbeats(db: psycopg.Connection[Any]) -> list[tuple[str, str, str | None, Any]]:
    return [
        (row[0], row[1], row[2], row[3])
        for row in db.execute("select job, status, error, counts from job_heartbeats order by id").fetchall()
    ]


def test_every_run_writes_one_heartbeat_with_its_counts(settings: Settings, db: psycopg.Connection[Any]) -> None:
    run = run_job(INGEST, lambda: {"bars_written": 12}, force=True)
    assert run.status == "ok"
    assert heartbeats(db) == [("ingest", "ok", None, {"bars_written": 12})]
    row = db.execute("select duration_ms, finished_at >= started_at from job_heartbeats").fetchone()
    assert row is not None and row[0] >= 0 and row[1] is True


def test_a_run_that_raises_is_recorded_failed_with_its_error_and_not_raised(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    def boom() -> dict[str, int]:
        raise RuntimeError("GET /v1/x?apiKey=secret-value-123 said no")

    run = run_job(INGEST, boom, force=True)
    assert run.status == "failed"
    assert heartbeats(db) == [("ingest", "failed", "RuntimeError: GET /v1/x?apiKey=**** said no", {})]


def test_two_concurrent_runs_of_a_job_run_once_and_the_other_is_skipped(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    inside = threading.Event()
    release = threading.Event()
    calls: list[int] = []

    def slow() -> dict[str, int]:
        calls.append(1)
        inside.set()
        assert release.wait(10)
        return {"n": 1}

    results: list[JobRun] = []
    first = threading.Thread(target=lambda: results.append(run_job(INGEST, slow, force=True)))
    first.start()
    assert inside.wait(10)
    second = run_job(INGEST, slow, force=True)
    release.set()
    first.join(10)
    assert second.status == "skipped" and second.error == "another run holds the lock"
    assert results[0].status == "ok"
    assert calls == [1]
    assert sorted(status for _, status, _, _ in heartbeats(db)) == ["ok", "skipped"]


def test_the_lock_is_per_job(settings: Settings, db: psycopg.Connection[Any]) -> None:
    inner: list[JobRun] = []

    def ingest_work() -> dict[str, int]:
        inner.append(run_job(PREWARM, lambda: {}, force=True))
        return {}

    run_job(INGEST, ingest_work, force=True)
    assert inner[0].status == "ok"
    assert lock_key("ingest") != lock_key("prewarm")


def test_a_market_hours_job_skips_outside_them_unless_forced(settings: Settings, db: psycopg.Connection[Any]) -> None:
    assert market_gate(INGEST, SATURDAY, force=False, after_close=False) == "market closed"
    assert market_gate(INGEST, SATURDAY, force=True, after_close=False) is None
    assert market_gate(INGEST, IN_SESSION, force=False, after_close=False) is None
    assert market_gate(PREWARM, SATURDAY, force=False, after_close=False) is None
    run = run_job(INGEST, lambda: {"n": 1}, now=lambda: SATURDAY)
    assert (run.status, run.error) == ("skipped", "market closed")


def test_the_run_after_the_close_goes_ahead_on_a_session_day_only(settings: Settings) -> None:
    assert market_gate(INGEST, AFTER_CLOSE, force=False, after_close=True) is None
    assert market_gate(INGEST, AFTER_CLOSE, force=False, after_close=False) == "market closed"
    assert market_gate(INGEST, SATURDAY, force=False, after_close=True) == "market closed"


def beat(started: datetime, status: str = "ok") -> Heartbeat:
    return Heartbeat(
        job="ingest", started_at=started, finished_at=started, status=status, counts={}, duration_ms=0
    )


def test_a_job_is_late_in_market_hours_after_twice_its_interval() -> None:
    assert not assess(INGEST, beat(IN_SESSION - timedelta(minutes=29)), IN_SESSION).late
    assert assess(INGEST, beat(IN_SESSION - timedelta(minutes=31)), IN_SESSION).late


def test_lateness_counts_from_the_open_so_the_first_minutes_of_a_session_are_not_late() -> None:
    yesterday = IN_SESSION - timedelta(days=1)
    just_opened = datetime(2026, 11, 25, 14, 50, tzinfo=UTC)  # 09:50 New York
    assert not assess(INGEST, beat(yesterday), just_opened).late
    assert assess(INGEST, beat(yesterday), datetime(2026, 11, 25, 15, 1, tzinfo=UTC)).late


def test_skipped_runs_do_not_keep_a_job_on_time() -> None:
    # A run stuck holding the lock: every later trigger is skipped, and the job is still late.
    skipped = beat(IN_SESSION - timedelta(minutes=2), "skipped")
    worked = beat(IN_SESSION - timedelta(minutes=45))
    assert assess(INGEST, skipped, IN_SESSION, worked).late
    assert assess(INGEST, skipped, IN_SESSION).late  # only skips today: late from the open


def test_no_job_is_late_outside_market_hours_and_a_job_that_never_ran_is_not_late() -> None:
    assert not assess(INGEST, beat(SATURDAY - timedelta(days=1)), SATURDAY).late
    assert not assess(INGEST, None, IN_SESSION).late


def test_a_failed_last_run_is_reported_failed() -> None:
    report = assess(PREWARM, beat(IN_SESSION, "failed"), IN_SESSION)
    assert report.failed and report.degraded


def insert_beat(
    db: psycopg.Connection[Any], job: str, started: datetime, status: str, error: str | None = None
) -> None:
    db.execute(
        "insert into job_heartbeats (job, started_at, finished_at, status, duration_ms, error)"
        " values (%s, %s, %s, %s, 0, %s)",
        (job, started, started, status, error),
    )


def test_health_reports_each_jobs_last_run(client: FlaskClient, db: psycopg.Connection[Any]) -> None:
    insert_beat(db, "ingest", datetime.now(UTC) - timedelta(hours=2), "failed", "boom")
    insert_beat(db, "ingest", datetime.now(UTC) - timedelta(minutes=1), "ok")
    body = client.get("/api/health").get_json()
    assert body["status"] == "ok"
    jobs = body["checks"]["jobs"]["jobs"]
    assert jobs["ingest"]["last_run"]["status"] == "ok"
    assert jobs["prewarm"]["last_run"] is None


def test_health_turns_degraded_when_a_jobs_last_run_failed(client: FlaskClient, db: psycopg.Connection[Any]) -> None:
    insert_beat(db, "prewarm", datetime.now(UTC), "failed", "RuntimeError: no")
    response = client.get("/api/health")
    assert response.status_code == 200
    assert response.get_json()["status"] == "degraded"
    assert response.get_json()["checks"]["jobs"]["jobs"]["prewarm"]["failed"] is True


def test_health_turns_degraded_when_a_job_is_late_in_market_hours(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    from functions.api.health import check_jobs

    insert_beat(db, "ingest", IN_SESSION - timedelta(minutes=45), "ok")
    report = check_jobs(IN_SESSION)
    assert report["ok"] is False
    assert report["jobs"]["ingest"]["late"] is True
    assert check_jobs(IN_SESSION - timedelta(minutes=30))["ok"] is True
    insert_beat(db, "ingest", IN_SESSION - timedelta(minutes=1), "skipped", "another run holds the lock")
    assert check_jobs(IN_SESSION)["jobs"]["ingest"]["late"] is True


def test_health_shows_symbols_whose_backfill_failed_for_good(client: FlaskClient, db: psycopg.Connection[Any]) -> None:
    db.execute(
        "insert into ingestion_queue (symbol, status, attempts, last_error)"
        " values ('TSLA', 'failed', 3, 'EntitlementError: the Massive key lacks entitlement')"
    )
    failed = client.get("/api/health").get_json()["checks"]["jobs"]["ingestion_failed"]
    assert [(f["symbol"], f["attempts"]) for f in failed] == [("TSLA", 3)]
    assert "lacks entitlement" in failed[0]["error"]


def test_a_run_forgets_its_jobs_heartbeats_older_than_30_days(settings: Settings, db: psycopg.Connection[Any]) -> None:
    insert_beat(db, "ingest", datetime.now(UTC) - timedelta(days=31), "ok")
    insert_beat(db, "prewarm", datetime.now(UTC) - timedelta(days=31), "ok")
    run_job(INGEST, lambda: {}, force=True)
    assert [(job, status) for job, status, _, _ in heartbeats(db)] == [("prewarm", "ok"), ("ingest", "ok")]
