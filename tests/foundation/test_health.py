"""`GET /api/health`: ok with a reachable database, 503 "down" when it is stopped."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient

from shared.config import get_settings
from shared.db import reset_for_tests
from shared.db.migrations import migrate


def test_health_is_ok_with_a_reachable_database(client: FlaskClient) -> None:
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json
    assert body is not None
    assert body["status"] == "ok"
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["database"]["latency_ms"] >= 0
    assert body["version"]
    assert body["timestamp"].endswith("Z")


@pytest.fixture
def private_postgres(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """A Postgres server of this test's own, so it can be stopped."""
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))  # read by platformdirs when pgserver is imported
    import pgserver

    server = pgserver.get_server(tmp_path / "pg", cleanup_mode="stop")
    with psycopg.connect(server.get_uri()) as conn:
        migrate(conn)
    monkeypatch.setenv("DATABASE_URL", server.get_uri())
    get_settings.cache_clear()
    reset_for_tests()
    yield server
    server.cleanup()
    get_settings.cache_clear()
    reset_for_tests()


def test_health_is_503_down_when_the_database_is_stopped(private_postgres: Any) -> None:
    from functions.api import all_blueprints
    from functions.web.app import create_app

    client = create_app(all_blueprints()).test_client()
    assert client.get("/api/health").status_code == 200
    private_postgres.cleanup()  # stops the server
    response = client.get("/api/health")
    assert response.status_code == 503
    body = response.json
    assert body is not None
    assert body["status"] == "down"
    assert body["checks"]["database"]["ok"] is False
