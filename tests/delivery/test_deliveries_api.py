"""`POST /api/alerts/deliveries/<id>/retry`: a dead or failed delivery of one's own goes out again."""

from __future__ import annotations

from typing import Any

import psycopg
from flask.testing import FlaskClient

from tests.delivery.conftest import AddChannel, Admin, Enqueue, delivery_rows
from tests.fakes.discord import FakeDiscord


def _retry(client: FlaskClient, owner: Admin, delivery: Any) -> Any:
    return client.post(f"/api/alerts/deliveries/{delivery}/retry", headers=owner.headers)


def test_a_dead_delivery_is_sent_again_and_answers_sent(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord, add_channel: AddChannel, enqueue: Enqueue,
    db: psycopg.Connection[Any],
) -> None:
    hook = fake_discord.add_webhook()
    [delivery] = enqueue(admin, [add_channel(admin, hook)], ["EXIT SPY"])
    db.execute("update alert_deliveries set status = 'dead', attempts = 9, last_error = 'Discord 500'")
    response = _retry(client, admin, delivery)
    assert response.status_code == 200
    shown = response.get_json()["delivery"]
    [posted] = fake_discord.messages(hook.id)
    assert (shown["status"], shown["discord_message_id"], shown["attempts"]) == ("sent", posted.message_id, 10)


def test_a_retry_gets_a_fresh_day_before_giving_up(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord, add_channel: AddChannel, enqueue: Enqueue,
    db: psycopg.Connection[Any],
) -> None:
    hook = fake_discord.add_webhook()
    [delivery] = enqueue(admin, [add_channel(admin, hook)], ["old"])
    db.execute("update alert_deliveries set status = 'dead', give_up_at = now() - interval '1 hour'")
    assert _retry(client, admin, delivery).get_json()["delivery"]["status"] == "sent"


def test_a_sent_delivery_cannot_be_retried(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord, add_channel: AddChannel, enqueue: Enqueue,
    db: psycopg.Connection[Any],
) -> None:
    [delivery] = enqueue(admin, [add_channel(admin, fake_discord.add_webhook())], ["x"])
    db.execute("update alert_deliveries set status = 'sent'")
    response = _retry(client, admin, delivery)
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "not_retryable"


def test_a_delivery_to_an_inactive_channel_cannot_be_retried(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord, add_channel: AddChannel, enqueue: Enqueue,
    db: psycopg.Connection[Any],
) -> None:
    [delivery] = enqueue(admin, [add_channel(admin, fake_discord.add_webhook())], ["x"])
    db.execute("update discord_channels set is_active = false, last_error = 'webhook deleted'")
    db.execute("update alert_deliveries set status = 'dead'")
    response = _retry(client, admin, delivery)
    assert response.status_code == 409
    assert "webhook deleted" in response.get_json()["error"]["message"]
    assert [row["status"] for row in delivery_rows(db, [delivery])] == ["dead"]


def test_someone_elses_delivery_is_not_found(
    client: FlaskClient, admin: Admin, other_admin: Admin, fake_discord: FakeDiscord, add_channel: AddChannel,
    enqueue: Enqueue, db: psycopg.Connection[Any],
) -> None:
    [delivery] = enqueue(admin, [add_channel(admin, fake_discord.add_webhook())], ["x"])
    db.execute("update alert_deliveries set status = 'dead'")
    assert _retry(client, other_admin, delivery).status_code == 404
    assert _retry(client, admin, "not-a-uuid").status_code == 404
    assert client.post(f"/api/alerts/deliveries/{delivery}/retry").status_code == 401
