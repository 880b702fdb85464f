"""The job frame when the database has no connection to give: a skip or a one-line failure, never a traceback."""

from __future__ import annotations

import logging
import time
from typing import Any

import psycopg
import pytest
from psycopg_pool import ConnectionPool

from shared.config import Settings
from shared.db import default_pool, service_tx
from shared.db.pool import connect_kwargs
from shared.jobs.frame import lock_key, run_job
from shared.jobs.specs import INGEST, SCANNER
from tests.fakes.massive_rest import FakeMassiveRest
from tests.jobs.test_run_command import run_command


def test_a_skipped_run_records_its_skip_on_the_connection_it_holds(
    settings: Settings, db: psycopg.Connection[Any], database_url: str
) -> None:
    pool = default_pool()
    with psycopg.connect(database_url, autocommit=True) as other:
        other.execute("select pg_advisory_lock(%s)", (lock_key(INGEST.name),))  # another run holds the lock
        # Every pooled connection is taken: a second connection for the heartbeat would never come.
        with pool.connection() as first, pool.connection() as second:
            assert first is not second
            started = time.monotonic()
            run = run_job(INGEST, lambda: {}, force=True)
            assert time.monotonic() - started < 2
    assert (run.status, run.error) == ("skipped", "another run holds the lock")
    assert db.execute("select job, status, error from job_heartbeats").fetchall() == [
        ("ingest", "skipped", "another run holds the lock")
    ]


def test_a_pool_that_gives_no_connection_fails_the_run_in_one_line_with_a_heartbeat(
    settings: Settings, db: psycopg.Connection[Any], database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    small: ConnectionPool[psycopg.Connection[dict[str, Any]]] = ConnectionPool(
        database_url, min_size=0, max_size=1, timeout=0.3, kwargs=connect_kwargs(), open=True
    )
    try:
        with small.connection():  # the only connection is busy elsewhere

            def work() -> dict[str, int]:
                with service_tx(pool=small):
                    return {}

            caplog.set_level(logging.INFO)
            run = run_job(SCANNER, work, force=True)
    finally:
        small.close()
    assert run.status == "failed"
    assert run.error is not None and run.error.startswith("PoolTimeout: couldn't get a connection after 0.30 sec")
    assert "\n" not in run.error
    assert not [record for record in caplog.records if record.exc_info]  # no traceback in the log
    assert db.execute("select status, error from job_heartbeats").fetchall() == [("failed", run.error)]


def test_a_database_that_cannot_be_reached_ends_the_run_in_one_line(massive: FakeMassiveRest) -> None:
    result = run_command("postgresql://nobody@127.0.0.1:1/none", massive, "ingestion", "--force")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert '"status": "failed"' in result.stdout and "OperationalError" in result.stdout
