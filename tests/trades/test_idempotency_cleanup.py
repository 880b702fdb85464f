"""The scheduled cleanup: Idempotency-Keys older than 48 hours are deleted, newer ones kept."""

from __future__ import annotations

import uuid
from typing import Any

import psycopg

from functions.jobs import idempotency_cleanup
from shared.config import Settings


def _key(db: psycopg.Connection[Any], user: uuid.UUID, key: str, age_hours: float) -> None:
    db.execute(
        "insert into idempotency_keys (user_id, key, request_hash, status, response, created_at)"
        " values (%s, %s, 'h', 200, '{}', now() - make_interval(secs => %s))",
        (user, key, age_hours * 3600),
    )


def test_keys_older_than_48_hours_are_purged_and_newer_ones_kept(
    settings: Settings, db: psycopg.Connection[Any]
) -> None:
    alice, bob = uuid.uuid4(), uuid.uuid4()
    _key(db, alice, "old", 49)
    _key(db, bob, "old-too", 72)
    _key(db, alice, "yesterday", 47)
    _key(db, bob, "fresh", 0)
    assert idempotency_cleanup.handler({}, None) == {"deleted": 2}
    rows = db.execute("select key from idempotency_keys order by key").fetchall()
    assert [row[0] for row in rows] == ["fresh", "yesterday"]


def test_the_cleanup_is_scheduled_in_serverless_yml() -> None:
    from tests.conftest import repo_path

    text = repo_path("serverless.yml").read_text()
    assert "handler: functions/jobs/idempotency_cleanup.handler" in text
    block = text.split("idempotency_cleanup:", 1)[1].split("\n\n", 1)[0]
    assert "schedule: rate(1 hour)" in block
