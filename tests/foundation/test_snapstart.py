"""SnapStart: a handler builds everything before the snapshot, and a restored one opens its own connections.

Lambda's runtime calls the hooks registered with `snapshot_restore_py`; here a fresh interpreter
plays that runtime: it imports a handler (its init), runs the before-snapshot hooks, serves a
request, has its database connections killed under it (the sockets a snapshot would carry), runs
the after-restore hooks and serves again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

import psycopg
import pytest

from tests.conftest import TEST_JWT_SECRET, Admin, repo_path
from tests.foundation.test_lambda_handlers import http_api_event

RESTORED_PROCESS = """
import json, os, random, sys
import psycopg
import snapshot_restore_py
from shared.db import pool

def run(hooks):
    for func, args, kwargs in hooks:
        func(*args, **kwargs)

def backends():
    with psycopg.connect(os.environ["DATABASE_URL"]) as admin:
        return sorted(r[0] for r in admin.execute(
            "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()"
            " and application_name <> 'test-admin'"))

from functions.api.handlers import watchlist  # the function's SnapStart init: registers its hooks
event = json.loads(sys.argv[1])
report = {"hooks": [len(snapshot_restore_py.get_before_snapshot()), len(snapshot_restore_py.get_after_restore())]}
run(snapshot_restore_py.get_before_snapshot())
report["pools_in_snapshot"] = len(pool._pools)
report["first"] = watchlist(event, None)["statusCode"]
before = backends()
with psycopg.connect(os.environ["DATABASE_URL"], application_name="test-admin") as admin:
    for pid in before:  # the sockets the snapshot carried: gone under the process
        admin.execute("select pg_terminate_backend(%s)", (pid,))
snapshot = random.getstate()
draws = []
for _ in range(2):  # two environments restored from one snapshot
    random.setstate(snapshot)
    run(snapshot_restore_py.get_after_restore())
    draws.append(random.random())
report["pools_after_restore"] = len(pool._pools)
report["second"] = watchlist(event, None)["statusCode"]
after = backends()
report["fresh_connection"] = bool(after) and not set(after) & set(before)
report["draws_differ"] = draws[0] != draws[1]
print(json.dumps(report))
"""


@pytest.fixture
def restored(database_url: str, db: psycopg.Connection[Any], admin: Admin) -> dict[str, Any]:
    event = http_api_event("GET", "/api/watchlist", headers=admin.headers)
    env = {**os.environ, "DATABASE_URL": database_url, "SUPABASE_JWT_SECRET": TEST_JWT_SECRET, "LOG_FORMAT": "json",
           "_HANDLER": "functions/api/handlers.watchlist", "AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start"}
    result = subprocess.run(
        [sys.executable, "-c", RESTORED_PROCESS, json.dumps(event)],
        capture_output=True, text=True, env=env, cwd=repo_path(), timeout=120, check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    report: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return report


@pytest.mark.real_clock
def test_a_handler_registers_its_hooks_with_lambdas_runtime(restored: dict[str, Any]) -> None:
    assert restored["hooks"] == [1, 1]


@pytest.mark.real_clock
def test_no_database_connection_is_in_the_snapshot(restored: dict[str, Any]) -> None:
    assert restored["pools_in_snapshot"] == 0


@pytest.mark.real_clock
def test_a_restored_environment_opens_fresh_connections_and_serves(restored: dict[str, Any]) -> None:
    assert (restored["first"], restored["second"]) == (200, 200)
    assert restored["pools_after_restore"] == 0
    assert restored["fresh_connection"] is True


@pytest.mark.real_clock
def test_two_environments_restored_from_one_snapshot_draw_different_random_numbers(
    restored: dict[str, Any],
) -> None:
    assert restored["draws_differ"] is True


def test_without_lambdas_runtime_registering_does_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    from functions.web import snapstart

    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)  # what `import` finds outside Lambda
    assert snapstart.register(lambda: pytest.fail("built without a snapshot")) is False


@pytest.mark.parametrize(
    ("name", "configured", "ours"),
    [
        ("functions/api/handlers.trades", "functions/api/handlers.trades", True),
        ("functions/api/handlers.trades", "functions/api/handlers.alerts", False),
        ("functions/api/handlers.trades", None, False),  # outside Lambda: no handler's init
    ],
)
def test_only_the_handler_lambda_runs_does_its_init(name: str, configured: str | None, ours: bool) -> None:
    from functions.web.lambda_adapter import is_this_functions_handler

    environ = {"_HANDLER": configured} if configured else {}
    assert is_this_functions_handler(name, environ) is ours


def _init(kind: str | None, handler: str = "functions/api/handlers.health") -> bool:
    from functions.web.lambda_adapter import AreaHandler

    area = AreaHandler("functions.api.health", "functions/api/handlers.health")
    environ = {"_HANDLER": handler, **({"AWS_LAMBDA_INITIALIZATION_TYPE": kind} if kind else {})}
    area.init(environ)
    return area.built


def test_an_on_demand_init_builds_the_area_before_the_first_event(settings: Any) -> None:
    assert _init("on-demand") is True


def test_a_provisioned_init_builds_the_area_before_the_first_event(settings: Any) -> None:
    assert _init("provisioned-concurrency") is True


def test_a_snapstart_init_leaves_the_build_to_the_before_snapshot_hook(
    settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "snapshot_restore_py", None)
    assert _init("snap-start") is False


def test_another_functions_init_builds_nothing(settings: Any) -> None:
    assert _init("on-demand", handler="functions/api/handlers.trades") is False


def test_outside_lambda_the_first_request_builds_the_area(settings: Any) -> None:
    assert _init(None, handler="") is False


def test_the_warm_up_renders_the_openapi_document_into_the_snapshot(settings: Any) -> None:
    from functions.api import openapi
    from functions.web.app import create_app
    from functions.web.snapstart import warm

    openapi._cached = None
    warm(create_app([openapi.bp]))
    assert openapi._cached is not None and "/api/market/quotes" in openapi._cached["paths"]


def test_the_warm_up_builds_every_model_the_routes_take_or_answer(settings: Any) -> None:
    from functions.api import all_blueprints
    from functions.web.app import create_app
    from functions.web.snapstart import build_models

    # Every area's bodies, queries and answers: dozens, each built once before the snapshot.
    assert build_models(create_app(all_blueprints())) > 20
