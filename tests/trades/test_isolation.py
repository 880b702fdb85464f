"""Someone else's trade is a 404 on every route, and never listed."""

from __future__ import annotations

from typing import Any

import pytest

from tests.trades.conftest import Api


@pytest.fixture
def their_trade(other_api: Api) -> dict[str, Any]:
    return other_api.enter()


ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("get", "/api/trades/{id}", None),
    ("post", "/api/trades/{id}/actions", {"action": "update", "price": "1.30"}),
    ("post", "/api/trades/{id}/actions", {"action": "exit", "price": "9"}),
    ("patch", "/api/trades/{id}", {"notes": "mine now"}),
    ("delete", "/api/trades/{id}", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_another_admins_trade_is_not_found(
    api: Api, other_api: Api, their_trade: dict[str, Any], method: str, path: str, body: dict[str, Any] | None
) -> None:
    url = path.format(id=their_trade["id"])
    response = getattr(api, method)(url, body) if body is not None else getattr(api, method)(url)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "not_found"
    unchanged = other_api.get(f"/api/trades/{their_trade['id']}").get_json()
    assert (unchanged["trade"]["version"], len(unchanged["updates"])) == (0, 1)


def test_another_admins_trade_cannot_be_previewed(api: Api, their_trade: dict[str, Any]) -> None:
    response = api.post("/api/alerts/preview", {"trade_id": their_trade["id"], "action": "exit", "price": "2"})
    assert response.status_code == 404


def test_the_list_shows_only_the_admins_own_trades(api: Api, their_trade: dict[str, Any]) -> None:
    mine = api.load()
    assert [t["id"] for t in api.get("/api/trades").get_json()["trades"]] == [mine["id"]]
