"""Two sessions acting on one trade at once, and retried requests with an Idempotency-Key."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest
import requests

from tests.conftest import LiveServer
from tests.fakes.discord import FakeDiscord
from tests.trades.conftest import Admin, Api

TIMEOUT_S = 15


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def _at_once(calls: list[Callable[[], requests.Response]]) -> list[requests.Response]:
    """Run the calls in threads released together, so they reach the server at the same moment."""
    barrier = threading.Barrier(len(calls), timeout=TIMEOUT_S)

    def run(call: Callable[[], requests.Response]) -> requests.Response:
        barrier.wait()
        return call()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls, timeout=TIMEOUT_S))


def _post(
    server: LiveServer, admin: Admin, path: str, body: Any, headers: dict[str, str] | None = None
) -> Callable[[], requests.Response]:
    return lambda: requests.post(
        f"{server.url}{path}", json=body, headers={**admin.headers, **(headers or {})}, timeout=TIMEOUT_S
    )


def test_two_sessions_exiting_at_once_one_wins_the_other_gets_409_with_the_state(
    api: Api, api_server: LiveServer
) -> None:
    trade = api.enter()
    path = f"/api/trades/{trade['id']}/actions"
    responses = _at_once([_post(api_server, api.admin, path, {"action": "exit", "price": p}) for p in ("2.00", "2.10")])
    assert sorted(r.status_code for r in responses) == [200, 409]
    loser = next(r for r in responses if r.status_code == 409).json()["error"]
    assert loser["trade"]["state"] == "exited"
    assert len(api.get(f"/api/trades/{trade['id']}").get_json()["updates"]) == 2


def test_two_sessions_acting_on_the_same_version_one_wins(api: Api, api_server: LiveServer) -> None:
    trade = api.enter()
    path = f"/api/trades/{trade['id']}/actions"
    body = {"action": "trim", "trim_percent": 50}
    responses = _at_once([_post(api_server, api.admin, path, body, {"If-Match": '"0"'}) for _ in range(2)])
    assert sorted(r.status_code for r in responses) == [200, 409]
    loser = next(r for r in responses if r.status_code == 409).json()["error"]
    assert (loser["code"], loser["trade"]["version"], loser["trade"]["pnl"]["trimmed_percent"]) == (
        "version_conflict",
        1,
        "50.00",
    )


# Postgres's lock_timeout never fires under libfaketime with a forward offset (seen on a Saturday run).
@pytest.mark.real_clock
def test_a_trade_locked_by_another_session_answers_409_busy(api: Api, db: psycopg.Connection[Any]) -> None:
    trade = api.enter()
    with db.transaction():
        db.execute("select 1 from trades where id = %s for update", (trade["id"],))
        response = api.act(trade["id"], "update", price="1.30")
    assert (response.status_code, response.get_json()["error"]["code"]) == (409, "trade_busy")
    assert api.get(f"/api/trades/{trade['id']}").get_json()["trade"]["version"] == 0


def test_a_stale_if_match_is_409_with_the_current_trade(api: Api) -> None:
    trade = api.enter()
    api.act(trade["id"], "update", price="1.30")
    response = api.post(f"/api/trades/{trade['id']}/actions", {"action": "exit"}, headers={"If-Match": '"0"'})
    assert response.status_code == 409
    assert response.get_json()["error"]["trade"]["current_price"] == "1.30"


@pytest.mark.parametrize("header", ["\u00b2", "1" * 5000, "abc"])
def test_an_if_match_that_is_not_a_version_is_a_422_naming_it(api: Api, header: str) -> None:
    # "²" passes str.isdigit() but not int(); 5000 digits pass neither int() nor any version.
    trade = api.enter()
    response = api.post(f"/api/trades/{trade['id']}/actions", {"action": "exit"}, headers={"If-Match": header})
    assert (response.status_code, response.get_json()["error"]["field"]) == (422, "If-Match")
    assert api.get(f"/api/trades/{trade['id']}").get_json()["trade"]["state"] == "entered"


def test_a_retried_action_with_the_same_key_returns_the_first_answer_and_acts_once(
    api: Api, add_channel: Any, fake_discord: FakeDiscord
) -> None:
    channel = add_channel(api.admin)
    trade = api.enter()
    body = {"action": "trim", "trim_percent": 30, "alert": {"send": True, "channel_ids": [str(channel)]}}
    headers = {"Idempotency-Key": "trim-1"}
    first = api.post(f"/api/trades/{trade['id']}/actions", body, headers=headers)
    second = api.post(f"/api/trades/{trade['id']}/actions", body, headers=headers)
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.headers["Idempotent-Replayed"] == "true"
    assert second.get_json() == first.get_json()
    stored = api.get(f"/api/trades/{trade['id']}").get_json()
    assert (stored["trade"]["pnl"]["trimmed_percent"], len(stored["alerts"])) == ("30.00", 1)
    assert len(fake_discord.messages()) == 1


def test_a_retried_create_with_the_same_key_creates_one_trade(api: Api) -> None:
    from tests.trades.conftest import load_body

    headers = {"Idempotency-Key": "load-spy"}
    first = api.post("/api/trades", load_body(), headers=headers)
    second = api.post("/api/trades", load_body(), headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.get_json()["trade"]["id"] == first.get_json()["trade"]["id"]
    assert len(api.get("/api/trades").get_json()["trades"]) == 1


def test_a_key_reused_for_a_different_request_is_a_422(api: Api) -> None:
    trade = api.enter()
    headers = {"Idempotency-Key": "k"}
    api.post(f"/api/trades/{trade['id']}/actions", {"action": "update", "price": "1.30"}, headers=headers)
    response = api.post(f"/api/trades/{trade['id']}/actions", {"action": "update", "price": "1.40"}, headers=headers)
    assert (response.status_code, response.get_json()["error"]["field"]) == (422, "Idempotency-Key")


def test_a_key_with_a_nul_character_is_a_422_and_acts_not(api: Api) -> None:
    trade = api.enter()
    path = f"/api/trades/{trade['id']}/actions"
    response = api.post(path, {"action": "exit"}, headers={"Idempotency-Key": "exit\x00"})
    assert (response.status_code, response.get_json()["error"]["field"]) == (422, "Idempotency-Key")
    assert api.get(f"/api/trades/{trade['id']}").get_json()["trade"]["state"] == "entered"


def test_keys_are_per_admin(api: Api, other_api: Api) -> None:
    from tests.trades.conftest import load_body

    headers = {"Idempotency-Key": "same"}
    mine = api.post("/api/trades", load_body(), headers=headers).get_json()["trade"]["id"]
    theirs = other_api.post("/api/trades", load_body(), headers=headers).get_json()["trade"]["id"]
    assert mine != theirs


def test_a_failed_request_does_not_use_up_its_key(api: Api) -> None:
    trade = api.enter()
    headers = {"Idempotency-Key": "retry-me"}
    path = f"/api/trades/{trade['id']}/actions"
    busy = api.post(path, {"action": "trim", "trim_percent": 50}, headers={**headers, "If-Match": '"7"'})
    assert busy.status_code == 409
    assert api.post(path, {"action": "trim", "trim_percent": 50}, headers=headers).status_code == 200


def test_the_same_key_sent_twice_at_once_acts_once(api: Api, api_server: LiveServer) -> None:
    trade = api.enter()
    path = f"/api/trades/{trade['id']}/actions"
    body = {"action": "trim", "trim_percent": 40}
    responses = _at_once([_post(api_server, api.admin, path, body, {"Idempotency-Key": "twin"}) for _ in range(2)])
    assert [r.status_code for r in responses] == [200, 200]
    assert responses[0].json() == responses[1].json()
    assert api.get(f"/api/trades/{trade['id']}").get_json()["trade"]["pnl"]["trimmed_percent"] == "40.00"


def test_ten_simultaneous_retries_on_a_pool_of_two_all_get_the_first_answer(
    api: Api, api_server: LiveServer, add_channel: Any, fake_discord: FakeDiscord, other_admin: Admin
) -> None:
    channel = add_channel(api.admin)
    trade = api.enter()
    path = f"/api/trades/{trade['id']}/actions"
    body = {"action": "trim", "trim_percent": 25, "alert": {"send": True, "channel_ids": [str(channel)]}}
    retries = [_post(api_server, api.admin, path, body, {"Idempotency-Key": "ten"}) for _ in range(10)]

    def unrelated() -> requests.Response:
        started = time.monotonic()
        response = requests.get(f"{api_server.url}/api/trades", headers=other_admin.headers, timeout=TIMEOUT_S)
        response.elapsed_s = time.monotonic() - started  # type: ignore[attr-defined]
        return response

    responses = _at_once([*retries, unrelated])
    answers, other = responses[:-1], responses[-1]
    assert [r.status_code for r in answers] == [200] * 10
    assert len({r.json()["update"]["id"] for r in answers}) == 1
    assert other.status_code == 200
    assert other.elapsed_s < 2.0  # type: ignore[attr-defined]
    stored = api.get(f"/api/trades/{trade['id']}").get_json()
    assert (stored["trade"]["pnl"]["trimmed_percent"], len(stored["alerts"])) == ("25.00", 1)
    assert len(fake_discord.messages()) == 1


def test_a_replay_reads_its_answer_without_a_second_connection(
    api: Api, add_channel: Any, fake_discord: FakeDiscord
) -> None:
    from shared.db import default_pool

    channel = add_channel(api.admin)
    trade = api.enter()
    path = f"/api/trades/{trade['id']}/actions"
    body = {"action": "update", "price": "1.30", "alert": {"send": True, "channel_ids": [str(channel)]}}
    headers = {"Idempotency-Key": "one-conn"}
    assert api.post(path, body, headers=headers).status_code == 200
    pool = default_pool()
    # Hold every connection but one: a replay that opened a second transaction would wait for a
    # connection it can never get, and answer 503.
    with pool.connection() if pool.max_size > 1 else _nothing():
        replay = api.post(path, body, headers=headers)
    assert (replay.status_code, replay.headers["Idempotent-Replayed"]) == (200, "true")
    assert replay.get_json()["alert"]["deliveries"][0]["status"] == "sent"


def test_a_retry_whose_key_stays_in_flight_gives_up_with_a_409_and_acts_not(
    api: Api, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    from shared.trades import idempotency

    trade = api.enter()
    path = f"/api/trades/{trade['id']}/actions"
    claims = json.dumps(api.admin.verified.claims)
    monkeypatch.setattr(idempotency, "IN_FLIGHT_WAIT_S", 0.5)
    # Another request's transaction holding the key, outside the app's pool, and never finishing.
    with psycopg.connect(database_url) as holder, holder.transaction():
        holder.execute(
            "select set_config('role', 'authenticated', true), set_config('request.jwt.claims', %s, true)", (claims,)
        )
        holder.execute(
            "select pg_advisory_xact_lock(hashtextextended(auth.uid()::text || '/' || 'stuck', 0))"
        )
        started = time.monotonic()
        response = api.post(path, {"action": "update", "price": "1.30"}, headers={"Idempotency-Key": "stuck"})
        waited = time.monotonic() - started
    assert (response.status_code, response.get_json()["error"]["code"]) == (409, "idempotency_key_in_flight")
    assert response.headers["Retry-After"] == "1"
    assert 0.4 < waited < 3
    assert api.get(f"/api/trades/{trade['id']}").get_json()["trade"]["version"] == 0
