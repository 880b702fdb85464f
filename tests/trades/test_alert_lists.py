"""`GET /api/alerts` and `GET /api/alerts/deliveries`: an admin finds their own alerts and deliveries."""

from __future__ import annotations

from typing import Any

from tests.fakes.discord import FakeDiscord
from tests.trades.conftest import AddChannel, Api, Clock


def _entered(api: Api, channel: Any) -> dict[str, Any]:
    """A trade entered with its alert sent to `channel`."""
    return api.enter(alert={"send": True, "channel_ids": [str(channel)]})


def _act(api: Api, trade_id: str, action: str, channel: Any, **body: Any) -> dict[str, Any]:
    response = api.act(trade_id, action, alert={"send": True, "channel_ids": [str(channel)]}, **body)
    assert response.status_code == 200, response.get_json()
    answer: dict[str, Any] = response.get_json()
    return answer


def test_alerts_are_listed_newest_first_with_their_deliveries(
    api: Api, add_channel: AddChannel, clock: Clock, fake_discord: FakeDiscord
) -> None:
    channel = add_channel(api.admin, name="desk")
    trade = _entered(api, channel)
    clock.advance(60)
    _act(api, trade["id"], "trim", channel, trim_percent=50)
    listed = api.get("/api/alerts").get_json()
    assert [a["action"] for a in listed["alerts"]] == ["trim", "enter"]
    assert listed["next_cursor"] is None
    [delivery] = listed["alerts"][0]["deliveries"]
    assert (delivery["channel_name"], delivery["status"]) == ("desk", "sent")


def test_alerts_filter_by_trade_action_and_time(api: Api, add_channel: AddChannel, clock: Clock) -> None:
    channel = add_channel(api.admin)
    first, second = _entered(api, channel), _entered(api, channel)
    clock.advance(3600)
    _act(api, first["id"], "update", channel, price="1.30")
    by_trade = api.get(f"/api/alerts?trade_id={second['id']}").get_json()["alerts"]
    assert [(a["trade_id"], a["action"]) for a in by_trade] == [(second["id"], "enter")]
    updates = api.get("/api/alerts?action=update").get_json()["alerts"]
    assert [a["trade_id"] for a in updates] == [first["id"]]
    since = api.get("/api/alerts", query_string={"since": clock.at.isoformat()}).get_json()["alerts"]
    assert [a["action"] for a in since] == ["update"]


def test_alerts_page_with_a_cursor_without_repeats(api: Api, add_channel: AddChannel, clock: Clock) -> None:
    channel = add_channel(api.admin)
    for _ in range(5):
        _entered(api, channel)
        clock.advance(1)
    seen: list[str] = []
    cursor = None
    while True:
        page = api.get("/api/alerts", query_string={"limit": 2, **({"cursor": cursor} if cursor else {})}).get_json()
        seen += [a["id"] for a in page["alerts"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 5


def test_deliveries_page_with_a_cursor_newest_first_without_repeats(
    api: Api, add_channel: AddChannel, clock: Clock
) -> None:
    channel = add_channel(api.admin)
    for _ in range(5):
        _entered(api, channel)
        clock.advance(1)
    newest_first = [d["id"] for d in api.get("/api/alerts/deliveries").get_json()["deliveries"]]
    seen: list[str] = []
    cursor = None
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api.get("/api/alerts/deliveries", query_string=query).get_json()
        seen += [d["id"] for d in page["deliveries"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == newest_first and len(set(seen)) == 5


def test_another_admins_alerts_and_deliveries_never_appear(
    api: Api, other_api: Api, add_channel: AddChannel
) -> None:
    mine = add_channel(api.admin)
    theirs = add_channel(other_api.admin)
    their_trade = _entered(other_api, theirs)
    _entered(api, mine)
    assert len(other_api.get("/api/alerts").get_json()["alerts"]) == 1
    assert api.get(f"/api/alerts?trade_id={their_trade['id']}").get_json()["alerts"] == []
    assert [d["channel_id"] for d in api.get("/api/alerts/deliveries").get_json()["deliveries"]] == [str(mine)]
    assert api.get(f"/api/alerts/deliveries?channel_id={theirs}").get_json()["deliveries"] == []


def test_deliveries_filter_by_status_and_channel_and_name_everything_a_retry_needs(
    api: Api, add_channel: AddChannel, fake_discord: FakeDiscord
) -> None:
    good, bad = add_channel(api.admin, name="good"), add_channel(api.admin, name="bad")
    fake_discord.fail_next(add_channel.hooks[bad].id, 400)  # type: ignore[attr-defined]
    _entered(api, good)
    _entered(api, bad)
    [dead] = api.get("/api/alerts/deliveries?status=dead").get_json()["deliveries"]
    assert (dead["channel_id"], dead["channel_name"], dead["attempts"]) == (str(bad), "bad", 1)
    assert dead["alert_id"] and dead["last_error"].startswith("Discord 400")
    assert dead["created_at"]
    [sent] = api.get(f"/api/alerts/deliveries?channel_id={good}").get_json()["deliveries"]
    assert (sent["status"], sent["channel_name"], sent["sent_at"] is not None) == ("sent", "good", True)


def test_a_dead_delivery_found_in_the_list_is_retried_and_sent(
    api: Api, add_channel: AddChannel, fake_discord: FakeDiscord
) -> None:
    channel = add_channel(api.admin)
    hook = add_channel.hooks[channel]  # type: ignore[attr-defined]
    fake_discord.fail_next(hook.id, 400)
    _entered(api, channel)
    [dead] = api.get("/api/alerts/deliveries?status=dead").get_json()["deliveries"]
    retried = api.post(f"/api/alerts/deliveries/{dead['id']}/retry")
    assert (retried.status_code, retried.get_json()["delivery"]["status"]) == (200, "sent")
    assert api.get("/api/alerts/deliveries?status=dead").get_json()["deliveries"] == []
    assert len(fake_discord.messages(hook.id)) == 1


def test_a_bad_filter_is_a_422_naming_it(api: Api) -> None:
    for query, field in [("status=lost", "status"), ("limit=0", "limit"), ("cursor=%%%", "cursor"),
                         ("channel_id=nope", "channel_id")]:
        response = api.get(f"/api/alerts/deliveries?{query}")
        assert (response.status_code, response.get_json()["error"]["field"]) == (422, field), query
    for query, field in [("since=2025-01-01T00:00:00", "since"), ("action=buy", "action"), ("trade_id=x", "trade_id")]:
        response = api.get(f"/api/alerts?{query}")
        assert (response.status_code, response.get_json()["error"]["field"]) == (422, field), query
