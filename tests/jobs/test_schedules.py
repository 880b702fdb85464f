"""serverless.yml schedules every job in shared/jobs/specs.py, and each Lambda handler runs one job."""

from __future__ import annotations

from typing import Any

import psycopg
import yaml

from functions.jobs import job_module
from shared.config import Settings
from shared.jobs.specs import JOBS
from tests.conftest import repo_path
from tests.fakes.massive_rest import FakeMassiveRest


def serverless_functions() -> dict[str, Any]:
    return yaml.safe_load(repo_path("serverless.yml").read_text(encoding="utf-8"))["functions"]


def test_every_job_has_a_scheduled_lambda_whose_handler_exists() -> None:
    functions = serverless_functions()
    for name in JOBS:
        entry = functions[name]
        assert entry["handler"] == f"functions/jobs/{name}.handler"
        assert any("schedule" in event for event in entry["events"])
        assert callable(job_module(name).handler)


def test_the_ingest_crons_cover_market_hours_in_both_utc_offsets_and_run_after_the_close() -> None:
    events = [event["schedule"] for event in serverless_functions()["ingest"]["events"]]
    assert events[0] == "cron(*/15 13-21 ? * MON-FRI *)"  # 13:30 EDT open .. 21:00 EST close
    assert events[1] == {"rate": "cron(20 21 ? * MON-FRI *)", "input": {"after_close": True}}


def test_the_dev_scheduler_uses_the_intervals_of_serverless_yml() -> None:
    functions = serverless_functions()
    ingest_minutes = functions["ingest"]["events"][0]["schedule"].split()[0]
    assert ingest_minutes == f"cron(*/{JOBS['ingest'].interval_s / 60:.0f}"
    assert functions["scanner"]["events"][0]["schedule"] == "cron(* 13-21 ? * MON-FRI *)"
    assert JOBS["scanner"].interval_s == 60 and JOBS["scanner"].market_hours
    gamma_minutes = functions["gamma"]["events"][0]["schedule"].split()[0]
    assert gamma_minutes == f"cron(*/{JOBS['gamma'].interval_s / 60:.0f}"
    # The Lambda sets no GAMMA_INTERVAL, so the default (the snapshots' bucket) must be the cron's step.
    assert "GAMMA_INTERVAL" not in str(functions["gamma"]["environment"])
    assert Settings.model_fields["gamma_interval_s"].default == 60 * int(gamma_minutes.removeprefix("cron(*/"))
    prewarm_cron = functions["prewarm"]["events"][0]["schedule"]
    assert prewarm_cron.endswith("? * FRI *)") and JOBS["prewarm"].interval_s == 7 * 24 * 3600


class LambdaContext:
    def get_remaining_time_in_millis(self) -> int:
        return 120_000


def test_the_ingest_lambda_runs_one_forced_run_and_reports_it(
    settings: Settings, db: psycopg.Connection[Any], massive_env: FakeMassiveRest
) -> None:
    from functions.jobs.ingest import handler

    result = handler({"force": True}, LambdaContext())
    assert result["status"] == "ok"
    assert db.execute("select job, status from job_heartbeats").fetchall() == [("ingest", "ok")]
