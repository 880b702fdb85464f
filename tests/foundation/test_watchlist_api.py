"""The watchlist over real HTTP: validation, normalisation, and RLS between admins."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
import requests

from tests.conftest import LiveServer, MakeToken, bearer


@pytest.fixture
def alice(make_token: MakeToken) -> dict[str, str]:
    return bearer(make_token(email="alice@example.com")[0])


@pytest.fixture
def bob(make_token: MakeToken) -> dict[str, str]:
    return bearer(make_token(email="bob@example.com")[0])


def add(server: LiveServer, headers: dict[str, str], symbol: object) -> requests.Response:
    return requests.post(f"{server.url}/api/watchlist", json={"symbol": symbol}, headers=headers, timeout=10)


def symbols(server: LiveServer, headers: dict[str, str]) -> list[str]:
    response = requests.get(f"{server.url}/api/watchlist", headers=headers, timeout=10)
    assert response.status_code == 200
    return [item["symbol"] for item in response.json()["items"]]


def test_an_added_symbol_is_listed_uppercase(api_server: LiveServer, alice: dict[str, str]) -> None:
    response = add(api_server, alice, "spy")
    assert response.status_code == 201
    assert response.json()["symbol"] == "SPY"
    assert symbols(api_server, alice) == ["SPY"]


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("SPX", "I:SPX"), ("$spx", "I:SPX"), ("SPXW", "I:SPX"), ("I:NDX", "I:NDX"), ("vix", "I:VIX"), ("brk.b", "BRK.B")],
)
def test_symbols_are_normalised(api_server: LiveServer, alice: dict[str, str], typed: str, stored: str) -> None:
    assert add(api_server, alice, typed).json()["symbol"] == stored


@pytest.mark.parametrize("bad", ["", "SPY1", "TOOLONGSYMBOL", "S P Y", "I:AAPL", ".SPY", 42, None])
def test_a_bad_symbol_is_a_422_naming_the_field(api_server: LiveServer, alice: dict[str, str], bad: object) -> None:
    response = add(api_server, alice, bad)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "symbol"
    assert symbols(api_server, alice) == []


def test_an_unknown_field_is_a_422_naming_it(api_server: LiveServer, alice: dict[str, str]) -> None:
    response = requests.post(
        f"{api_server.url}/api/watchlist", json={"symbol": "SPY", "user_id": "x"}, headers=alice, timeout=10
    )
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "user_id"


def test_adding_a_symbol_twice_is_a_409(api_server: LiveServer, alice: dict[str, str]) -> None:
    add(api_server, alice, "QQQ")
    response = add(api_server, alice, "qqq")
    assert response.status_code == 409
    assert symbols(api_server, alice) == ["QQQ"]


def test_a_removed_symbol_is_gone(api_server: LiveServer, alice: dict[str, str]) -> None:
    add(api_server, alice, "SPX")
    response = requests.delete(f"{api_server.url}/api/watchlist/spx", headers=alice, timeout=10)
    assert response.status_code == 204
    assert symbols(api_server, alice) == []


def test_one_admin_never_sees_anothers_watchlist(
    api_server: LiveServer, alice: dict[str, str], bob: dict[str, str]
) -> None:
    add(api_server, alice, "SPY")
    add(api_server, bob, "TSLA")
    assert symbols(api_server, alice) == ["SPY"]
    assert symbols(api_server, bob) == ["TSLA"]


def test_one_admin_cannot_delete_anothers_symbol(
    api_server: LiveServer, alice: dict[str, str], bob: dict[str, str]
) -> None:
    add(api_server, alice, "SPY")
    response = requests.delete(f"{api_server.url}/api/watchlist/SPY", headers=bob, timeout=10)
    assert response.status_code == 404
    assert symbols(api_server, alice) == ["SPY"]


def test_both_admins_may_watch_the_same_symbol(
    api_server: LiveServer, alice: dict[str, str], bob: dict[str, str]
) -> None:
    assert add(api_server, alice, "SPY").status_code == 201
    assert add(api_server, bob, "SPY").status_code == 201


def test_a_body_that_is_not_json_is_a_400(api_server: LiveServer, alice: dict[str, str]) -> None:
    response = requests.post(
        f"{api_server.url}/api/watchlist",
        data="{not json",
        headers={**alice, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 400
    assert response.json()["error"]["field"] == "body"


def test_a_body_that_is_not_declared_json_is_a_415(api_server: LiveServer, alice: dict[str, str]) -> None:
    response = requests.post(
        f"{api_server.url}/api/watchlist",
        data="symbol=SPY",
        headers={**alice, "Content-Type": "text/plain"},
        timeout=10,
    )
    assert response.status_code == 415


def test_a_body_over_64_kb_is_a_413(api_server: LiveServer, alice: dict[str, str]) -> None:
    response = requests.post(
        f"{api_server.url}/api/watchlist", json={"symbol": "A" * 70_000}, headers=alice, timeout=10
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def _chunks(data: bytes, size: int = 8192) -> Iterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]


def test_a_chunked_body_over_64_kb_is_a_413_not_cut_short(api_server: LiveServer, alice: dict[str, str]) -> None:
    # A generator body goes out with Transfer-Encoding: chunked and no Content-Length.
    body = json.dumps({"symbol": "SPY", "padding": "x" * 200_000}).encode()
    response = requests.post(
        f"{api_server.url}/api/watchlist",
        data=_chunks(body),
        headers={**alice, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_chunked_body_under_the_limit_is_read_whole(api_server: LiveServer, alice: dict[str, str]) -> None:
    response = requests.post(
        f"{api_server.url}/api/watchlist",
        data=_chunks(json.dumps({"symbol": "qqq"}).encode(), size=3),
        headers={**alice, "Content-Type": "application/json"},
        timeout=10,
    )
    assert response.status_code == 201
    assert response.json()["symbol"] == "QQQ"


def test_a_wrong_method_is_a_json_405(api_server: LiveServer, alice: dict[str, str]) -> None:
    response = requests.put(f"{api_server.url}/api/watchlist", json={}, headers=alice, timeout=10)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


def test_an_unknown_path_is_a_json_404(api_server: LiveServer) -> None:
    response = requests.get(f"{api_server.url}/api/nothing-here", timeout=10)
    assert response.status_code == 404
    assert response.headers["Content-Type"] == "application/json"


def test_cors_allows_only_the_web_origin(
    api_server: LiveServer, alice: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.config import get_settings

    monkeypatch.setenv("WEB_ORIGIN", "https://app.honeydrip.test")
    get_settings.cache_clear()
    try:
        ok = requests.options(
            f"{api_server.url}/api/watchlist", headers={"Origin": "https://app.honeydrip.test"}, timeout=10
        )
        evil = requests.get(
            f"{api_server.url}/api/watchlist", headers={**alice, "Origin": "https://evil.test"}, timeout=10
        )
    finally:
        monkeypatch.delenv("WEB_ORIGIN")
        get_settings.cache_clear()
    assert ok.status_code == 204
    assert ok.headers["Access-Control-Allow-Origin"] == "https://app.honeydrip.test"
    assert "Access-Control-Allow-Origin" not in evil.headers


@pytest.mark.parametrize("typed", ["ß", "ﬀ", "ı", "ſpy", "SPY\u200b"])
def test_a_symbol_that_would_fold_into_a_real_ticker_is_a_422(
    api_server: LiveServer, alice: dict[str, str], typed: str
) -> None:
    response = add(api_server, alice, typed)
    assert (response.status_code, response.json()["error"]["field"]) == (422, "symbol")
    assert symbols(api_server, alice) == []


def test_a_full_width_symbol_is_stored_as_its_ascii_ticker(api_server: LiveServer, alice: dict[str, str]) -> None:
    assert add(api_server, alice, "ｓｐｙ").json()["symbol"] == "SPY"


def test_a_validation_message_reads_as_ours_without_pydantics_prefix(
    api_server: LiveServer, alice: dict[str, str]
) -> None:
    error = add(api_server, alice, "not a ticker!").json()["error"]
    assert error["message"].startswith("symbol: ")
    assert "Value error" not in error["message"]


def test_an_unknown_path_says_so_in_our_words(api_server: LiveServer) -> None:
    error = requests.get(f"{api_server.url}/api/nothing-here", timeout=10).json()["error"]
    assert error["message"] == "no route GET /api/nothing-here; see /api/docs"


def test_a_wrong_method_names_the_allowed_ones(api_server: LiveServer, alice: dict[str, str]) -> None:
    response = requests.put(f"{api_server.url}/api/watchlist", json={}, headers=alice, timeout=10)
    assert response.json()["error"]["message"] == f"PUT is not allowed here; use {response.headers['Allow']}"
