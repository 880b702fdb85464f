"""`make dev`'s in-process scheduler: jobs at their intervals, once after the close, a clean stop."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime

import pytest
import requests

from shared.jobs.specs import JobSpec
from shared.local.scheduler import Scheduler
from tests.conftest import repo_path
from tests.fakes.massive_rest import FakeMassiveRest
from tests.foundation.test_devstack import free_port

FAST = JobSpec("fast", interval_s=0.2, market_hours=False, summary="test")
SESSION_JOB = JobSpec("session_job", interval_s=3600, market_hours=True, summary="test")


def test_each_job_runs_at_its_interval_until_stopped() -> None:
    runs: list[str] = []
    scheduler = Scheduler([FAST], runner=lambda spec, after_close: runs.append(spec.name), first_run_delay_s=0)
    scheduler.start()
    time.sleep(0.7)
    started = time.monotonic()
    scheduler.stop()
    assert time.monotonic() - started < 1.5
    count = len(runs)
    assert 3 <= count <= 5
    time.sleep(0.3)
    assert len(runs) == count  # nothing after stop


def test_a_market_hours_job_runs_once_after_the_close() -> None:
    calls: list[bool] = []
    done = threading.Event()

    def runner(spec: JobSpec, after_close: bool) -> None:
        calls.append(after_close)
        done.set()

    after_close = datetime(2026, 11, 25, 21, 20, tzinfo=UTC)
    scheduler = Scheduler([SESSION_JOB], runner=runner, first_run_delay_s=3600, now=lambda: after_close)
    scheduler.start()
    assert done.wait(3)
    time.sleep(1.2)
    scheduler.stop()
    assert calls == [True]


# The stack runs in a subprocess on the real clock: it cannot travel with --clock.
@pytest.mark.real_clock
def test_serve_with_jobs_stops_cleanly_on_ctrl_c(database_url: str, massive: FakeMassiveRest) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MASSIVE_REST_URL": massive.url,
        "MASSIVE_API_KEY": "test-key",
        "LOG_FORMAT": "text",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "functions", "serve", "--port", str(port), "--jobs"],
        env=env, cwd=repo_path(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if requests.get(f"http://127.0.0.1:{port}/api/health", timeout=1).status_code == 200:
                    break
            except requests.RequestException:
                time.sleep(0.2)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    assert "job scheduler started" in stderr
    assert "job scheduler stopped" in stderr
