"""`GET /api/signals` and `PATCH /api/signals/<id>`: an admin's own signals only, dismissing the only change."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from flask.testing import FlaskClient

from tests.conftest import Admin

BAR = datetime(2026, 11, 24, 14, 55, tzinfo=UTC)


def insert(db: psycopg.Connection[Any], owner: Admin, symbol: str = "SPY", *, minutes: int = 0,
           status: str = "active", expires_at: datetime | None = None) -> uuid.UUID:
    row = db.execute(
        "insert into composite_signals (user_id, symbol, detector, direction, style, score, factors, entry, stop,"
        " targets, rr, bar_time, status, expires_at) values (%s, %s, 'breakout', 'long', 'day', 64.1,"
        " '[{\"key\": \"relative_volume\", \"label\": \"relative volume 2.00x\", \"value\": 50.0, \"weight\": 1.5}]',"
        " 101, 100, '{103,104}', 2, %s, %s, %s) returning id",
        (owner.user_id, symbol, BAR + timedelta(minutes=minutes), status,
         expires_at or datetime.now(UTC) + timedelta(hours=1)),
    ).fetchone()
    assert row is not None
    return uuid.UUID(str(row[0]))


def test_an_admin_lists_their_signals_newest_bar_first_with_factors_and_levels(
    client: FlaskClient, db: psycopg.Connection[Any], admin: Admin, other_admin: Admin
) -> None:
    first, second = insert(db, admin), insert(db, admin, minutes=5)
    insert(db, other_admin)
    body = client.get("/api/signals", headers=admin.headers).get_json()
    assert [s["id"] for s in body["signals"]] == [str(second), str(first)]
    signal = body["signals"][1]
    assert signal["entry"] == 101.0 and signal["stop"] == 100.0 and signal["targets"] == [103.0, 104.0]
    assert signal["rr"] == 2.0 and signal["score"] == 64.1
    assert signal["factors"][0]["label"] == "relative volume 2.00x"
    assert datetime.fromisoformat(signal["bar_time"]) == BAR and signal["status"] == "active"


def test_signals_filter_by_symbol_status_and_limit(
    client: FlaskClient, db: psycopg.Connection[Any], admin: Admin
) -> None:
    insert(db, admin, "SPY")
    insert(db, admin, "I:SPX", minutes=1)
    insert(db, admin, "QQQ", minutes=2, status="dismissed")
    get = lambda q: client.get(f"/api/signals?{q}", headers=admin.headers).get_json()["signals"]  # noqa: E731
    assert [s["symbol"] for s in get("symbol=spx")] == ["I:SPX"]
    assert [s["symbol"] for s in get("status=dismissed")] == ["QQQ"]
    assert [s["symbol"] for s in get("limit=1")] == ["QQQ"]


def test_an_active_signal_past_its_expiry_reads_as_expired_before_any_scan_marks_it(
    client: FlaskClient, db: psycopg.Connection[Any], admin: Admin
) -> None:
    insert(db, admin, "SPY", expires_at=datetime.now(UTC) - timedelta(seconds=1))
    insert(db, admin, "QQQ", minutes=1)
    get = lambda q: client.get(f"/api/signals?{q}", headers=admin.headers).get_json()["signals"]  # noqa: E731
    assert [(s["symbol"], s["status"]) for s in get("")] == [("QQQ", "active"), ("SPY", "expired")]
    assert [s["symbol"] for s in get("status=active")] == ["QQQ"]
    assert [s["symbol"] for s in get("status=expired")] == ["SPY"]


def test_bad_queries_are_422_naming_the_field(client: FlaskClient, db: psycopg.Connection[Any], admin: Admin) -> None:
    for query, field in (("status=open", "status"), ("limit=0", "limit"), ("limit=501", "limit"),
                         ("symbol=%F0%9F%92%A5", "symbol"), ("nope=1", "nope")):
        response = client.get(f"/api/signals?{query}", headers=admin.headers)
        assert response.status_code == 422, query
        assert field in (response.get_json()["error"]["field"] or ""), query


def test_signals_need_a_signed_in_admin(client: FlaskClient, db: psycopg.Connection[Any]) -> None:
    assert client.get("/api/signals").status_code == 401


def test_an_admin_dismisses_their_signal(client: FlaskClient, db: psycopg.Connection[Any], admin: Admin) -> None:
    signal_id = insert(db, admin)
    response = client.patch(f"/api/signals/{signal_id}", json={"status": "dismissed"}, headers=admin.headers)
    assert response.status_code == 200 and response.get_json()["signal"]["status"] == "dismissed"
    assert db.execute("select status from composite_signals where id = %s", (signal_id,)).fetchone() == ("dismissed",)


def test_another_admins_signal_is_not_found_and_unchanged(
    client: FlaskClient, db: psycopg.Connection[Any], admin: Admin, other_admin: Admin
) -> None:
    signal_id = insert(db, other_admin)
    response = client.patch(f"/api/signals/{signal_id}", json={"status": "dismissed"}, headers=admin.headers)
    assert response.status_code == 404
    assert db.execute("select status from composite_signals where id = %s", (signal_id,)).fetchone() == ("active",)


def test_only_dismissing_is_allowed(client: FlaskClient, db: psycopg.Connection[Any], admin: Admin) -> None:
    signal_id = insert(db, admin)
    bodies: list[Any] = [{"status": "active"}, {"status": "dismissed", "entry": 1}, {"score": 100}, []]
    for body in bodies:
        response = client.patch(f"/api/signals/{signal_id}", json=body, headers=admin.headers)
        assert response.status_code == 422, body
    response = client.patch("/api/signals/not-a-uuid", json={"status": "dismissed"}, headers=admin.headers)
    assert response.status_code == 404


def test_an_admin_cannot_write_signal_fields_through_the_database_either(
    db: psycopg.Connection[Any], admin: Admin
) -> None:
    from shared.db import user_tx

    signal_id = insert(db, admin)
    try:
        with user_tx(admin.verified) as conn:
            conn.execute("update composite_signals set entry = 1 where id = %s", (signal_id,))
    except psycopg.errors.InsufficientPrivilege:
        pass
    else:
        raise AssertionError("an admin changed a signal's entry")
    try:
        with user_tx(admin.verified) as conn:
            conn.execute("insert into signal_cooldowns values (%s, 'SPY', 'breakout', now(), now())", (admin.user_id,))
    except psycopg.errors.InsufficientPrivilege:
        pass
    else:
        raise AssertionError("an admin wrote a cooldown")
