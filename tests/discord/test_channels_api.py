"""`/api/discord/channels…` over the whole app: validation, live checks, masking, ownership."""

from __future__ import annotations

import logging
import socket
from typing import Any

import psycopg
import pytest
from flask.testing import FlaskClient

from shared.config import get_settings
from shared.logs import JsonFormatter
from tests.conftest import Admin
from tests.fakes.discord import FakeDiscord, FakeWebhook

API = "/api/discord/channels"
VALID = "https://discord.com/api/webhooks/112233445566778899/t"


def _create(client: FlaskClient, owner: Admin, hook: FakeWebhook | str, **fields: Any) -> Any:
    url = hook if isinstance(hook, str) else hook.url
    body = {"name": fields.pop("name", "alerts"), "webhook_url": url, **fields}
    return client.post(API, json=body, headers=owner.headers)


def _stored(db: psycopg.Connection[Any]) -> list[tuple[Any, ...]]:
    query = "select name, webhook_id, webhook_token, guild_id, discord_channel_id from discord_channels"
    return db.execute(query).fetchall()


def _error(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.get_json()["error"]
    return error


def test_a_channel_is_checked_live_and_stored_canonically_with_a_masked_url_shown(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord, db: psycopg.Connection[Any]
) -> None:
    hook = fake_discord.add_webhook()
    pasted = f"https://discordapp.com/api/v10/webhooks/{hook.id}/{hook.token}"
    response = _create(client, admin, pasted, default_for=["load", "enter"], is_global_default=True)
    assert response.status_code == 201
    channel = response.get_json()
    assert channel["webhook_url"] == f"https://discord.com/api/webhooks/{hook.id[:4]}…/****"
    assert (channel["name"], channel["is_active"], channel["default_for"]) == ("alerts", True, ["load", "enter"])
    assert (channel["guild_id"], channel["discord_channel_id"]) == (hook.guild_id, hook.channel_id)
    assert _stored(db) == [("alerts", hook.id, hook.token, hook.guild_id, hook.channel_id)]
    assert fake_discord.statuses(hook.id, method="GET") == [200]


@pytest.mark.parametrize(
    "url",
    [
        "http://discord.com/api/webhooks/112233445566778899/token",
        "https://127.0.0.1/api/webhooks/112233445566778899/token",
        "https://[::1]/api/webhooks/112233445566778899/token",
        "https://evil.example/api/webhooks/112233445566778899/token",
        "https://discord.com.evil.example/api/webhooks/112233445566778899/token",
        "https://discord.com@evil.example/api/webhooks/112233445566778899/token",
        "https://tinyurl.com/discord-hook",
        "https://discord.com/api/webhooks/112233445566778899/token?next=https://evil.example",
        "https://discord.com/channels/112233445566778899/token",
        "not a url",
    ],
)
def test_anything_but_a_discord_webhook_url_is_422_naming_webhook_url_and_nothing_is_fetched(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord, db: psycopg.Connection[Any], url: str
) -> None:
    response = _create(client, admin, url)
    assert response.status_code == 422
    assert _error(response)["field"] == "webhook_url"
    assert fake_discord.seen == []
    assert _stored(db) == []


def test_a_deleted_webhook_is_refused_as_deleted(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord, db: psycopg.Connection[Any]
) -> None:
    hook = fake_discord.add_webhook()
    fake_discord.delete_webhook(hook.id)
    response = _create(client, admin, hook)
    assert response.status_code == 422
    assert (_error(response)["field"], _error(response)["message"]) == ("webhook_url", "webhook deleted")
    assert _stored(db) == []


def test_a_wrong_token_is_refused_as_invalid(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord, db: psycopg.Connection[Any]
) -> None:
    hook = fake_discord.add_webhook()
    response = _create(client, admin, f"https://discord.com/api/webhooks/{hook.id}/wrong-token")
    assert response.status_code == 422
    assert _error(response)["message"] == "invalid webhook token"
    assert _stored(db) == []


def test_discord_answering_5xx_is_503_with_a_retry_hint_and_nothing_stored(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord, db: psycopg.Connection[Any]
) -> None:
    hook = fake_discord.add_webhook()
    fake_discord.fail_next(hook.id, 502, method="GET")
    response = _create(client, admin, hook)
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert "nothing was stored" in _error(response)["message"]
    assert _stored(db) == []


def test_discord_unreachable_is_503_and_nothing_stored(
    client: FlaskClient, admin: Admin, db: psycopg.Connection[Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    monkeypatch.setenv("DISCORD_API_BASE", f"http://127.0.0.1:{closed_port}/api")
    get_settings.cache_clear()
    response = _create(client, admin, "https://discord.com/api/webhooks/112233445566778899/token")
    get_settings.cache_clear()
    assert response.status_code == 503
    assert _error(response)["code"] == "discord_unavailable"
    assert _stored(db) == []


def test_a_redirect_during_the_live_check_is_not_followed(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord, db: psycopg.Connection[Any]
) -> None:
    hook = fake_discord.add_webhook()
    with FakeDiscord() as elsewhere:
        target = elsewhere.add_webhook()
        location = f"{elsewhere.api_base}/webhooks/{target.id}/{target.token}"
        fake_discord.fail_next(hook.id, 302, method="GET", headers={"Location": location})
        response = _create(client, admin, hook)
        assert elsewhere.seen == []
    assert response.status_code == 422
    assert "redirect" in _error(response)["message"]
    assert _stored(db) == []


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"webhook_url": "https://discord.com/api/webhooks/112233445566778899/t"}, "name"),
        ({"name": "   ", "webhook_url": "https://discord.com/api/webhooks/112233445566778899/t"}, "name"),
        ({"name": "x" * 101, "webhook_url": "https://discord.com/api/webhooks/112233445566778899/t"}, "name"),
        ({"name": "a"}, "webhook_url"),
        ({"name": "a", "webhook_url": 42}, "webhook_url"),
        ({"name": "a", "webhook_url": VALID, "default_for": ["buy"]}, "default_for[0]"),
        ({"name": "a", "webhook_url": VALID, "is_global_default": "maybe"},
         "is_global_default"),
        ({"name": "a", "webhook_url": VALID, "colour": "red"}, "colour"),
    ],
)
def test_a_bad_body_is_422_naming_the_field(
    client: FlaskClient, admin: Admin, db: psycopg.Connection[Any], body: dict[str, Any], field: str
) -> None:
    response = client.post(API, json=body, headers=admin.headers)
    assert response.status_code == 422
    assert _error(response)["field"] == field
    assert _stored(db) == []


def test_a_name_with_a_nul_character_is_422_naming_it(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord, db: psycopg.Connection[Any]
) -> None:
    response = _create(client, admin, fake_discord.add_webhook(), name="alerts\u0000")
    assert (response.status_code, _error(response)["field"]) == (422, "name")
    assert _stored(db) == []


def test_names_are_unique_per_user_but_not_across_users(
    client: FlaskClient, admin: Admin, other_admin: Admin, fake_discord: FakeDiscord
) -> None:
    assert _create(client, admin, fake_discord.add_webhook()).status_code == 201
    again = _create(client, admin, fake_discord.add_webhook())
    assert again.status_code == 409
    assert _error(again)["field"] == "name"
    assert _create(client, other_admin, fake_discord.add_webhook()).status_code == 201


def test_a_new_global_default_replaces_the_old_one(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord
) -> None:
    first = _create(client, admin, fake_discord.add_webhook(), name="one", is_global_default=True).get_json()
    _create(client, admin, fake_discord.add_webhook(), name="two", is_global_default=True)
    third = _create(client, admin, fake_discord.add_webhook(), name="three").get_json()
    client.patch(f"{API}/{third['id']}", json={"is_global_default": True}, headers=admin.headers)
    channels = client.get(API, headers=admin.headers).get_json()["channels"]
    assert [(c["name"], c["is_global_default"]) for c in channels] == [
        ("one", False),
        ("two", False),
        ("three", True),
    ]
    assert first["is_global_default"] is True


def test_the_database_itself_keeps_at_most_one_global_default(
    admin: Admin, fake_discord: FakeDiscord, add_channel: Any, db: psycopg.Connection[Any]
) -> None:
    add_channel(admin, fake_discord.add_webhook(), name="one", is_global_default=True)
    with pytest.raises(psycopg.errors.UniqueViolation):
        add_channel(admin, fake_discord.add_webhook(), name="two", is_global_default=True)


def test_patch_renames_and_sets_defaults(client: FlaskClient, admin: Admin, fake_discord: FakeDiscord) -> None:
    channel = _create(client, admin, fake_discord.add_webhook()).get_json()
    response = client.patch(
        f"{API}/{channel['id']}", json={"name": "exits", "default_for": ["exit", "exit"]}, headers=admin.headers
    )
    assert response.status_code == 200
    assert (response.get_json()["name"], response.get_json()["default_for"]) == ("exits", ["exit"])
    assert fake_discord.statuses(method="GET") == [200]


def test_a_changed_url_is_checked_again_and_stored_canonically(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord, db: psycopg.Connection[Any]
) -> None:
    channel = _create(client, admin, fake_discord.add_webhook()).get_json()
    new_hook = fake_discord.add_webhook()
    gone = fake_discord.add_webhook()
    fake_discord.delete_webhook(gone.id)
    refused = client.patch(f"{API}/{channel['id']}", json={"webhook_url": gone.url}, headers=admin.headers)
    assert refused.status_code == 422
    moved = client.patch(
        f"{API}/{channel['id']}",
        json={"webhook_url": f"https://ptb.discord.com/api/webhooks/{new_hook.id}/{new_hook.token}"},
        headers=admin.headers,
    )
    assert moved.status_code == 200
    assert moved.get_json()["webhook_url"].startswith(f"https://discord.com/api/webhooks/{new_hook.id[:4]}…")
    assert _stored(db)[0][1:3] == (new_hook.id, new_hook.token)


def test_reactivating_a_channel_checks_its_webhook_first(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord, db: psycopg.Connection[Any]
) -> None:
    hook = fake_discord.add_webhook()
    channel = _create(client, admin, hook).get_json()
    db.execute("update discord_channels set is_active = false, last_error = 'webhook deleted'")
    fake_discord.delete_webhook(hook.id)
    refused = client.patch(f"{API}/{channel['id']}", json={"is_active": True}, headers=admin.headers)
    assert (refused.status_code, _error(refused)["message"]) == (422, "webhook deleted")
    fake_discord.webhooks[hook.id].deleted = False
    back = client.patch(f"{API}/{channel['id']}", json={"is_active": True}, headers=admin.headers)
    assert (back.status_code, back.get_json()["is_active"], back.get_json()["last_error"]) == (200, True, None)


def test_an_empty_patch_is_422(client: FlaskClient, admin: Admin, fake_discord: FakeDiscord) -> None:
    channel = _create(client, admin, fake_discord.add_webhook()).get_json()
    response = client.patch(f"{API}/{channel['id']}", json={}, headers=admin.headers)
    assert response.status_code == 422


def test_deleting_a_channel_ends_its_pending_deliveries(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord, enqueue: Any, db: psycopg.Connection[Any]
) -> None:
    channel = _create(client, admin, fake_discord.add_webhook()).get_json()
    [delivery] = enqueue(admin, [channel["id"]], ["queued"])
    assert client.delete(f"{API}/{channel['id']}", headers=admin.headers).status_code == 204
    assert client.get(f"{API}/{channel['id']}", headers=admin.headers).status_code == 404
    query = "select status, last_error, channel_id from alert_deliveries where id = %s"
    row = db.execute(query, (delivery,)).fetchone()
    assert row == ("dead", "channel deleted", None)


def test_another_users_channel_is_404_on_every_route(
    client: FlaskClient, admin: Admin, other_admin: Admin, fake_discord: FakeDiscord
) -> None:
    channel = _create(client, admin, fake_discord.add_webhook()).get_json()
    url = f"{API}/{channel['id']}"
    assert client.get(url, headers=other_admin.headers).status_code == 404
    assert client.patch(url, json={"name": "mine"}, headers=other_admin.headers).status_code == 404
    assert client.patch(url, json={"is_active": True}, headers=other_admin.headers).status_code == 404
    assert client.delete(url, headers=other_admin.headers).status_code == 404
    assert client.post(f"{url}/test", headers=other_admin.headers).status_code == 404
    assert client.get(API, headers=other_admin.headers).get_json() == {"channels": []}
    assert client.get(url, headers=admin.headers).status_code == 200


def test_every_route_needs_a_token(client: FlaskClient) -> None:
    assert client.get(API).status_code == 401
    assert client.post(API, json={}).status_code == 401


def test_the_test_route_posts_a_grey_embed_and_answers_with_its_sent_delivery(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord
) -> None:
    hook = fake_discord.add_webhook()
    channel = _create(client, admin, hook, name="desk").get_json()
    response = client.post(f"{API}/{channel['id']}/test", headers=admin.headers)
    assert response.status_code == 201
    delivery = response.get_json()["delivery"]
    [posted] = fake_discord.messages(hook.id)
    assert (delivery["status"], delivery["discord_message_id"]) == ("sent", posted.message_id)
    assert delivery["channel_name"] == "desk"
    embed = posted.payload["embeds"][0]
    assert (embed["color"], embed["footer"]["text"]) == (0x95A5A6, "Honey Drip • test")
    shown = client.get(f"{API}/{channel['id']}", headers=admin.headers).get_json()
    assert shown["last_ok_at"] is not None


def test_the_test_route_refuses_an_inactive_channel(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord, db: psycopg.Connection[Any]
) -> None:
    channel = _create(client, admin, fake_discord.add_webhook()).get_json()
    db.execute("update discord_channels set is_active = false, last_error = 'invalid webhook token'")
    response = client.post(f"{API}/{channel['id']}/test", headers=admin.headers)
    assert response.status_code == 409
    assert "invalid webhook token" in _error(response)["message"]


def test_tokens_appear_in_no_response_and_no_log_line(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    hook, gone = fake_discord.add_webhook(), fake_discord.add_webhook()
    bodies = []
    created = _create(client, admin, hook)
    channel_id = created.get_json()["id"]
    bodies.append(created.get_data(as_text=True))
    fake_discord.fail_next(hook.id, 500)
    bodies.append(client.post(f"{API}/{channel_id}/test", headers=admin.headers).get_data(as_text=True))
    bodies.append(client.get(API, headers=admin.headers).get_data(as_text=True))
    bodies.append(client.get(f"{API}/{channel_id}", headers=admin.headers).get_data(as_text=True))
    other = _create(client, admin, gone, name="gone").get_json()
    fake_discord.delete_webhook(gone.id)
    bodies.append(client.post(f"{API}/{other['id']}/test", headers=admin.headers).get_data(as_text=True))
    bodies.append(_create(client, admin, gone, name="again").get_data(as_text=True))
    formatter = JsonFormatter()
    raw_lines = [str(vars(record)) for record in caplog.records]
    lines = [formatter.format(record) for record in caplog.records]
    assert any("discord delivery" in line for line in lines)
    for token in (hook.token, gone.token):
        assert not any(token in body for body in bodies)
        assert not any(token in line for line in raw_lines + lines)


def test_answers_match_the_models_the_openapi_document_describes(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord
) -> None:
    from functions.api.discord_channels import ChannelList, ChannelOut, DeliveryAnswer

    created = _create(client, admin, fake_discord.add_webhook()).get_json()
    ChannelOut.model_validate(created)
    ChannelList.model_validate(client.get(API, headers=admin.headers).get_json())
    DeliveryAnswer.model_validate(client.post(f"{API}/{created['id']}/test", headers=admin.headers).get_json())
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert {"/api/discord/channels", "/api/discord/channels/{channel_id}", "/api/discord/channels/{channel_id}/test",
            "/api/alerts/deliveries/{delivery_id}/retry"} <= paths.keys()


@pytest.mark.parametrize("name", ["\u200b\u200b", "\u3164", "\u2800", "alerts\u200b"])
def test_a_name_of_invisible_characters_is_422_naming_it(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord, db: psycopg.Connection[Any], name: str
) -> None:
    response = _create(client, admin, fake_discord.add_webhook(), name=name)
    assert (response.status_code, _error(response)["field"]) == (422, "name")
    assert "Value error" not in _error(response)["message"]
    assert _stored(db) == []


def test_a_duplicate_name_is_refused_before_discord_is_asked(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord
) -> None:
    assert _create(client, admin, fake_discord.add_webhook()).status_code == 201
    second = fake_discord.add_webhook()
    again = _create(client, admin, second)
    assert (again.status_code, _error(again)["code"]) == (409, "duplicate")
    assert fake_discord.statuses(second.id, method="GET") == []


def test_renaming_onto_a_taken_name_is_refused_before_a_new_webhook_is_checked(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord
) -> None:
    _create(client, admin, fake_discord.add_webhook(), name="one")
    two = _create(client, admin, fake_discord.add_webhook(), name="two").get_json()
    fresh = fake_discord.add_webhook()
    response = client.patch(
        f"{API}/{two['id']}", json={"name": "one", "webhook_url": fresh.url}, headers=admin.headers
    )
    assert (response.status_code, _error(response)["field"]) == (409, "name")
    assert fake_discord.statuses(fresh.id, method="GET") == []


@pytest.mark.parametrize("segment", ["not-a-uuid", "12345", f"urn:uuid:{'0' * 8}-0000-0000-0000-{'0' * 12}"])
def test_a_malformed_channel_id_is_a_json_404_naming_it(client: FlaskClient, admin: Admin, segment: str) -> None:
    response = client.get(f"{API}/{segment}", headers=admin.headers)
    assert response.status_code == 404
    assert _error(response)["field"] == "channel_id"
    assert "requested URL" not in _error(response)["message"]


def test_a_full_width_twin_of_a_name_is_the_same_name(
    client: FlaskClient, admin: Admin, fake_discord: FakeDiscord
) -> None:
    assert _create(client, admin, fake_discord.add_webhook(), name="alerts").status_code == 201
    twin = _create(client, admin, fake_discord.add_webhook(), name="ａｌｅｒｔｓ")
    assert (twin.status_code, _error(twin)["code"]) == (409, "duplicate")
