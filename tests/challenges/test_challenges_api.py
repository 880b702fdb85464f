"""`/api/challenges…` over the app: the routes, links to trades, the figures and the 🏆 line."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import psycopg

from tests.trades.conftest import Api

CHALLENGE = {"name": "Road to 15k", "starting_balance": "10000", "target_balance": "15000", "start_date": "2025-12-01"}


def create(api: Api, **overrides: Any) -> dict[str, Any]:
    response = api.post("/api/challenges", {**CHALLENGE, **overrides})
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


def link(api: Api, challenge_id: str, trade_id: str) -> Any:
    return api.client.put(f"/api/challenges/{challenge_id}/trades/{trade_id}", headers=api.admin.headers)


def error_field(response: Any) -> tuple[int, str | None]:
    return response.status_code, response.get_json()["error"]["field"]


def test_a_new_challenge_stands_at_its_start(api: Api) -> None:
    challenge = create(api, end_date="2026-03-31", scope="community")
    assert challenge["name"] == "Road to 15k" and challenge["status"] == "active" and challenge["scope"] == "community"
    assert (challenge["starting_balance"], challenge["target_balance"]) == ("10000.00", "15000.00")
    figures = challenge["figures"]
    assert (figures["current_balance"], figures["progress_percent"], figures["trades"]) == ("10000.00", "0.00", 0)
    assert figures["win_rate"] is None and challenge["trade_ids"] == []


def test_bad_challenges_are_422_naming_the_field(api: Api, other_api: Api, add_channel: Any) -> None:
    theirs = add_channel(other_api.admin)
    cases = [
        ({"name": "  "}, "name"),
        ({"starting_balance": "0"}, "starting_balance"),
        ({"starting_balance": "1.005"}, "starting_balance"),
        ({"target_balance": "9000"}, "target_balance"),
        ({"end_date": "2025-11-30"}, "end_date"),
        ({"start_date": "someday"}, "start_date"),
        ({"scope": "everyone"}, "scope"),
        ({"default_channel_id": str(theirs)}, "default_channel_id"),
        ({"colour": "red"}, "colour"),
    ]
    for change, field in cases:
        assert error_field(api.post("/api/challenges", {**CHALLENGE, **change})) == (422, field), change
    body = dict(CHALLENGE)
    del body["name"]
    assert error_field(api.post("/api/challenges", body)) == (422, "name")


def test_list_newest_first_by_status_and_in_pages(api: Api, clock: Any) -> None:
    first = create(api, name="first")
    second = create(api, name="second")
    api.post(f"/api/challenges/{first['id']}/archive")
    listed = api.get("/api/challenges").get_json()
    assert [c["name"] for c in listed["challenges"]] == ["second", "first"]
    assert [c["name"] for c in api.get("/api/challenges?status=active").get_json()["challenges"]] == ["second"]
    assert [c["name"] for c in api.get("/api/challenges?status=archived").get_json()["challenges"]] == ["first"]
    page = api.get("/api/challenges?limit=1").get_json()
    assert [c["id"] for c in page["challenges"]] == [second["id"]]
    rest = api.get(f"/api/challenges?limit=1&cursor={page['next_cursor']}").get_json()
    assert [c["id"] for c in rest["challenges"]] == [first["id"]] and rest["next_cursor"] is None
    assert error_field(api.get("/api/challenges?status=gone")) == (422, "status")


def test_edit_and_archive(api: Api, add_channel: Any) -> None:
    channel = add_channel(api.admin)
    challenge = create(api, end_date="2026-01-31")
    path = f"/api/challenges/{challenge['id']}"
    edited = api.patch(path, {"name": "Renamed", "end_date": None, "default_channel_id": str(channel)}).get_json()
    assert (edited["name"], edited["end_date"], edited["default_channel_id"]) == ("Renamed", None, str(channel))
    assert error_field(api.patch(path, {"name": None})) == (422, "name")
    assert error_field(api.patch(path, {"target_balance": "100"})) == (422, "target_balance")
    archived = api.post(f"{path}/archive").get_json()
    assert archived["status"] == "archived" and archived["archived_at"] is not None
    assert api.post(f"{path}/archive").get_json()["archived_at"] == archived["archived_at"]
    reopened = api.patch(path, {"status": "active"}).get_json()
    assert (reopened["status"], reopened["archived_at"]) == ("active", None)


def test_another_admins_challenges_and_trades_are_404(api: Api, other_api: Api) -> None:
    mine, theirs = create(api), create(other_api)
    my_trade, their_trade = api.load(), other_api.load()
    assert error_field(api.get(f"/api/challenges/{theirs['id']}")) == (404, "challenge_id")
    assert error_field(api.patch(f"/api/challenges/{theirs['id']}", {"name": "x"})) == (404, "challenge_id")
    assert error_field(api.post(f"/api/challenges/{theirs['id']}/archive")) == (404, "challenge_id")
    assert error_field(link(api, theirs["id"], my_trade["id"])) == (404, "challenge_id")
    assert error_field(link(api, mine["id"], their_trade["id"])) == (404, "trade_id")
    unlink = api.delete(f"/api/challenges/{theirs['id']}/trades/{my_trade['id']}")
    assert error_field(unlink) == (404, "challenge_id")
    assert error_field(api.get(f"/api/challenges/{uuid.uuid4()}")) == (404, "challenge_id")
    assert other_api.get(f"/api/challenges/{theirs['id']}").get_json()["trade_ids"] == []


def test_a_trade_may_be_in_several_challenges_and_leaves_them(api: Api) -> None:
    one, two = create(api, name="one"), create(api, name="two")
    trade = api.load()
    for challenge in (one, two):
        assert link(api, challenge["id"], trade["id"]).get_json()["trade_ids"] == [trade["id"]]
    assert link(api, one["id"], trade["id"]).get_json()["trade_ids"] == [trade["id"]]
    assert api.delete(f"/api/challenges/{one['id']}/trades/{trade['id']}").status_code == 204
    assert api.get(f"/api/challenges/{one['id']}").get_json()["trade_ids"] == []
    assert api.get(f"/api/challenges/{two['id']}").get_json()["trade_ids"] == [trade["id"]]
    assert error_field(api.delete(f"/api/challenges/{one['id']}/trades/{trade['id']}")) == (404, "trade_id")


def test_the_figures_come_from_the_trades_fills(api: Api) -> None:
    challenge = create(api)
    trade = api.load(quantity=2, stop_loss="0.80", target_price="2.40")
    link(api, challenge["id"], trade["id"])
    assert api.act(trade["id"], "enter", price="1.20", quantity=2).status_code == 200
    # Open at the entry: 2 @ 1.20, charges 1.30 + 1.20: open P&L −2.50, not in the balance.
    opened = api.get(f"/api/challenges/{challenge['id']}").get_json()["figures"]
    assert (opened["current_balance"], opened["open_pnl"], opened["open"], opened["trades"]) == (
        "10000.00", "-2.50", 1, 1,
    )
    assert api.act(trade["id"], "exit", price="1.80").status_code == 200
    # Closed: gross (1.80 − 1.20) × 200 = 120.00, charges 1.30 + 1.20 + 1.30 + 1.80 = 5.60: net +114.40.
    # R: risk (1.20 − 0.80 entry stop) × 2 × 100 = 80.00 → 114.40 / 80 = 1.43. Progress 114.40 / 5,000 = 2.288 %.
    figures = api.get(f"/api/challenges/{challenge['id']}").get_json()["figures"]
    assert figures == {
        "current_balance": "10114.40", "realized_pnl": "114.40", "open_pnl": "0.00", "balance_with_open": "10114.40",
        "trades": 1, "won": 1, "lost": 0, "flat": 0, "open": 0, "loaded": 0, "open_unpriced": 0,
        "win_rate": "100.00", "average_r": "1.43", "largest_win": "114.40", "largest_loss": None,
        "progress_percent": "2.29", "target_reached": False,
    }


def test_the_entry_stop_is_the_databases_and_never_changes(api: Api, db: psycopg.Connection[Any]) -> None:
    trade = api.load(stop_loss="0.80")
    assert db.execute("select entry_stop from trades where id = %s", (trade["id"],)).fetchone() == (None,)
    api.act(trade["id"], "enter", price="1.20")
    assert api.act(trade["id"], "update_sl", stop_loss="1.10").status_code == 200
    db.execute("update trades set entry_stop = 0.01 where id = %s", (trade["id"],))
    stops = db.execute("select entry_stop, stop_loss from trades where id = %s", (trade["id"],)).fetchone()
    assert stops == (Decimal("0.8000"), Decimal("1.1000"))


def _challenge_field(payload: dict[str, Any]) -> str | None:
    for field in payload["embeds"][0]["fields"]:
        if field["name"] == "🏆 Challenge":
            return str(field["value"])
    return None


def test_entry_and_exit_alerts_carry_the_challenge_line_and_its_channel(api: Api, add_channel: Any) -> None:
    own = add_channel(api.admin, name="trades")
    board = add_channel(api.admin, name="challenge-board")
    challenge = create(api, default_channel_id=str(board))
    trade = api.load(quantity=2, stop_loss="0.80")
    link(api, challenge["id"], trade["id"])
    alert = {"send": True, "channel_ids": [str(own)]}
    entered = api.act(trade["id"], "enter", price="1.20", quantity=2, alert=alert).get_json()["alert"]
    assert _challenge_field(entered["payload"]) == "Road to 15k · $10,000.00 · 1 trade"
    assert entered["channel_ids"] == [str(own), str(board)]
    # An update is neither an entry nor an exit: no line, but the challenge's channel still joins.
    updated = api.act(trade["id"], "update", price="1.50", alert=alert).get_json()["alert"]
    assert _challenge_field(updated["payload"]) is None
    assert updated["channel_ids"] == [str(own), str(board)]
    body = {"action": "exit", "price": "1.80", "alert": alert}
    preview = api.post("/api/alerts/preview", {"trade_id": trade["id"], **body}).get_json()
    exited = api.act(trade["id"], "exit", price="1.80", alert=alert).get_json()["alert"]
    assert preview["payload"] == exited["payload"]
    assert preview["channel_ids"] == exited["channel_ids"] == [str(own), str(board)]
    assert _challenge_field(exited["payload"]) == "Road to 15k · $10,114.40 · 100.00% win rate · 1 trade"


def test_the_line_can_be_turned_off_and_archived_challenges_have_none(api: Api, add_channel: Any) -> None:
    own = add_channel(api.admin)
    board = add_channel(api.admin, name="board")
    challenge = create(api, default_channel_id=str(board))
    trade = api.load()
    link(api, challenge["id"], trade["id"])
    off = {"send": True, "channel_ids": [str(own)], "fields": {"challenge": False}}
    entered = api.act(trade["id"], "enter", price="1.20", alert=off).get_json()["alert"]
    assert _challenge_field(entered["payload"]) is None
    api.post(f"/api/challenges/{challenge['id']}/archive")
    exited = api.act(trade["id"], "exit", price="1.50", alert={"send": True, "channel_ids": [str(own)]}).get_json()
    assert _challenge_field(exited["alert"]["payload"]) is None
    assert exited["alert"]["channel_ids"] == [str(own)]


def test_several_challenges_each_have_their_line(api: Api, add_channel: Any) -> None:
    own = add_channel(api.admin)
    trade = api.load()
    for name in ("Alpha", "Beta"):
        link(api, create(api, name=name)["id"], trade["id"])
    entered = api.act(trade["id"], "enter", price="1.20", alert={"send": True, "channel_ids": [str(own)]})
    line = _challenge_field(entered.get_json()["alert"]["payload"])
    assert line == "Alpha · $10,000.00 · 1 trade\nBeta · $10,000.00 · 1 trade"
