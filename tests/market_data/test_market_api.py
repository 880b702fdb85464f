"""`/api/market/...` against the fake Massive over real HTTP and the test database: what an admin sees."""

from __future__ import annotations

import json
import logging
import threading
from datetime import UTC, date, datetime
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from shared.config import get_settings
from shared.db import reset_for_tests
from shared.market import calendar
from tests.conftest import Admin, MakeToken
from tests.fakes.massive_rest import (
    NOT_AUTHORIZED_BODY,
    RATE_LIMIT_BODY,
    FakeMassiveRest,
    option_contract,
    stock_snapshot,
)

TODAY = datetime.now(UTC).astimezone(calendar.NEW_YORK).date()
NEAREST = calendar.next_session(TODAY)
LATER = calendar.next_session(calendar.next_session(NEAREST))
SPOT = 601.2


def contract(expiry: date, kind: str, strike: float, *, bid: float, ask: float) -> dict[str, Any]:
    raw = option_contract("SPY", expiry, kind, strike, spot=SPOT, iv=0.18, gamma=0.02, open_interest=1500.0,
                          volume=320.0)
    raw["last_quote"] = {"bid": bid, "ask": ask, "midpoint": round((bid + ask) / 2, 3), "timeframe": "REAL-TIME"}
    raw["last_trade"] = {"price": bid, "size": 2, "conditions": [209], "timeframe": "REAL-TIME"}
    return raw


@pytest.fixture
def market(massive_env: FakeMassiveRest, db: psycopg.Connection[Any]) -> FakeMassiveRest:
    """SPY at 601.20 with strikes 590 to 610 on two expirations; SPX at 6,012.5."""
    massive_env.chains["SPY"] = [
        contract(expiry, kind, strike, bid=round(1.05 + (strike - 590) / 100, 2),
                 ask=round(1.10 + (strike - 590) / 100, 2))
        for expiry in (NEAREST, LATER)
        for strike in (590.0, 595.0, 600.0, 605.0, 610.0)
        for kind in ("call", "put")
    ]
    massive_env.stocks["SPY"] = stock_snapshot("SPY", SPOT, -3.3, updated_ns=1_764_086_400_000_000_000)
    massive_env.stocks["QQQ"] = stock_snapshot("QQQ", 520.0, 2.6)
    massive_env.indices["I:SPX"] = {
        "ticker": "I:SPX", "value": 6012.5, "last_updated": 1_764_086_400_000_000_000,
        "session": {"change": -12.5, "change_percent": -0.2075, "previous_close": 6025.0},
    }  # fmt: skip
    return massive_env


def get(client: FlaskClient, admin: Admin, path: str) -> tuple[int, Any, dict[str, str]]:
    response = client.get(path, headers=admin.headers)
    return response.status_code, json.loads(response.get_data(as_text=True) or "null"), dict(response.headers)


def upstream(fake: FakeMassiveRest, prefix: str, **query: str) -> int:
    return sum(1 for seen in fake.requests_to(prefix) if all(seen.query.get(k) == v for k, v in query.items()))


# ------------------------------------------------------------------------------------------ shapes


def test_expirations_are_listed_nearest_first_from_the_calls_near_spot(
    client: FlaskClient, admin: Admin, market: FakeMassiveRest
) -> None:
    status, body, _ = get(client, admin, "/api/market/options/spy/expirations")
    assert status == 200
    assert body["underlying"] == "SPY"
    assert [e["date"] for e in body["expirations"]] == [NEAREST.isoformat(), LATER.isoformat()]
    assert body["expirations"][0]["dte"] == (NEAREST - TODAY).days
    (asked,) = market.requests_to("/v3/snapshot/options/SPY")
    # 2 % of 601.20 is 12.02 either side of spot.
    assert (asked.query["contract_type"], asked.query["strike_price.gte"], asked.query["strike_price.lte"]) == (
        "call", "589.18", "613.22",
    )  # fmt: skip


def test_a_chain_is_the_strikes_around_the_money_sorted_with_the_money_marked(
    client: FlaskClient, admin: Admin, market: FakeMassiveRest
) -> None:
    status, body, _ = get(client, admin, f"/api/market/options/SPY/chain?expiration={NEAREST}&strikes=1")
    assert status == 200
    assert (body["underlying_price"], body["atm_strike"], body["expiration"]) == (SPOT, 600.0, NEAREST.isoformat())
    assert [(c["strike"], c["type"], c["atm"]) for c in body["contracts"]] == [
        (595.0, "call", False), (595.0, "put", False), (600.0, "call", True), (600.0, "put", True),
        (605.0, "call", False), (605.0, "put", False),
    ]  # fmt: skip
    atm_call = body["contracts"][2]
    # By hand: bid 1.05 + 10/100 = 1.15, ask 1.20, mid 1.175.
    assert (atm_call["bid"], atm_call["ask"], atm_call["mid"], atm_call["last"]) == (1.15, 1.2, 1.175, 1.15)
    assert atm_call["occ"] == f"O:SPY{NEAREST:%y%m%d}C00600000"
    assert (atm_call["iv"], atm_call["delta"], atm_call["gamma"], atm_call["open_interest"]) == (0.18, 0.5, 0.02, 1500)
    assert (atm_call["volume"], atm_call["break_even"]) == (320.0, 600.0)


def test_without_an_expiration_the_chain_is_the_nearest_and_type_keeps_one_side(
    client: FlaskClient, admin: Admin, market: FakeMassiveRest
) -> None:
    status, body, _ = get(client, admin, "/api/market/options/spy/chain?type=put&strikes=50")
    assert status == 200 and body["expiration"] == NEAREST.isoformat()
    assert [c["strike"] for c in body["contracts"]] == [590.0, 595.0, 600.0, 605.0, 610.0]
    assert {c["type"] for c in body["contracts"]} == {"put"}


def test_one_contract_by_its_occ_symbol_with_its_underlyings_price(
    client: FlaskClient, admin: Admin, market: FakeMassiveRest
) -> None:
    occ = f"O:SPY{LATER:%y%m%d}P00605000"
    status, body, _ = get(client, admin, f"/api/market/options/contracts/{occ}")
    assert status == 200
    assert body["contract"]["occ"] == occ and body["contract"]["type"] == "put" and body["contract"]["strike"] == 605
    assert body["underlying"] == {"symbol": "SPY", "price": SPOT}


def test_quotes_give_price_change_and_session_in_the_order_asked(
    client: FlaskClient, admin: Admin, market: FakeMassiveRest
) -> None:
    status, body, _ = get(client, admin, "/api/market/quotes?symbols=spy,spx,QQQ")
    assert status == 200
    quotes = {q["symbol"]: q for q in body["quotes"]}
    assert list(quotes) == ["SPY", "I:SPX", "QQQ"]
    # SPY −3.30 from 604.50 is −0.55 %; QQQ +2.60 from 517.40 is +0.50 %; SPX as Massive gives it, rounded.
    assert (quotes["SPY"]["price"], quotes["SPY"]["change"], quotes["SPY"]["change_percent"]) == (SPOT, -3.3, -0.55)
    assert quotes["QQQ"]["change_percent"] == 0.5
    assert (quotes["I:SPX"]["price"], quotes["I:SPX"]["change_percent"]) == (6012.5, -0.21)
    assert quotes["SPY"]["session"] in ("pre", "regular", "after", "closed")
    assert body["errors"] == []
    assert upstream(market, "/v2/snapshot/locale/us/markets/stocks/tickers") == 1  # both stocks in one call


def test_a_symbol_massive_does_not_know_is_listed_under_errors(
    client: FlaskClient, admin: Admin, market: FakeMassiveRest
) -> None:
    status, body, _ = get(client, admin, "/api/market/quotes?symbols=SPY,ZZZZ")
    assert status == 200
    assert [q["symbol"] for q in body["quotes"]] == ["SPY"]
    assert [(e["symbol"], e["code"]) for e in body["errors"]] == [("ZZZZ", "not_found")]
    status, body, _ = get(client, admin, "/api/market/quotes?symbols=ZZZZ")
    assert status == 404 and body["error"]["field"] == "symbols"


@pytest.mark.parametrize(
    ("path", "field"),
    [
        ("/api/market/quotes?symbols=" + ",".join(f"S{chr(65 + i // 26)}{chr(65 + i % 26)}" for i in range(51)),
         "symbols"),
        ("/api/market/quotes?symbols=SPY,not%20a%20ticker", "symbols"),
        ("/api/market/quotes", "symbols"),
        ("/api/market/options/contracts/SPY600C", "occ"),
        ("/api/market/options/%24%24%24/chain", "underlying"),
        ("/api/market/options/SPY/chain?strikes=0", "strikes"),
        ("/api/market/options/SPY/chain?strikes=51", "strikes"),
        ("/api/market/options/SPY/chain?type=straddle", "type"),
        ("/api/market/options/SPY/chain?expiration=2026-13-01", "expiration"),
        ("/api/market/options/SPY/chain?expiration=2020-01-17", "expiration"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: FlaskClient, admin: Admin, market: FakeMassiveRest, path: str, field: str
) -> None:
    status, body, _ = get(client, admin, path)
    assert status == 422, body
    assert body["error"]["field"] == field


# ------------------------------------------------------------------------------------------ upstream trouble


def test_massives_429_is_a_503_with_retry_after_in_our_words(
    client: FlaskClient, admin: Admin, market: FakeMassiveRest
) -> None:
    market.fail_next(429, path_prefix="/v3/snapshot/options/")
    status, body, headers = get(client, admin, f"/api/market/options/SPY/chain?expiration={NEAREST}")
    assert status == 503 and headers["Retry-After"] == "10"
    assert body["error"]["code"] == "upstream_rate_limited"
    assert RATE_LIMIT_BODY["error"] not in json.dumps(body)
    # Everyone asking meanwhile gets the same answer from the cache, and Massive is not asked again.
    status, _, _ = get(client, admin, f"/api/market/options/SPY/chain?expiration={NEAREST}")
    assert status == 503
    assert upstream(market, "/v3/snapshot/options/SPY", expiration_date=NEAREST.isoformat()) == 1


def test_massives_403_is_a_403_not_entitled_naming_the_data(
    client: FlaskClient, admin: Admin, market: FakeMassiveRest
) -> None:
    market.forbidden_prefixes.add("/v3/snapshot/options/")
    status, body, _ = get(client, admin, f"/api/market/options/SPY/chain?expiration={NEAREST}")
    assert status == 403
    assert body["error"]["code"] == "not_entitled"
    assert "option chain snapshots of SPY" in body["error"]["message"]
    assert NOT_AUTHORIZED_BODY["message"] not in json.dumps(body)


def test_an_unknown_contract_is_a_404(client: FlaskClient, admin: Admin, market: FakeMassiveRest) -> None:
    status, body, _ = get(client, admin, f"/api/market/options/contracts/O:SPY{NEAREST:%y%m%d}C00999000")
    assert status == 404 and body["error"]["code"] == "not_found"


def test_an_underlying_without_options_is_a_404_not_an_empty_answer(
    client: FlaskClient, admin: Admin, market: FakeMassiveRest
) -> None:
    market.stocks["IBM"] = stock_snapshot("IBM", 250.0, 1.0)
    status, _, _ = get(client, admin, "/api/market/options/IBM/expirations")
    assert status == 404


def test_massive_too_slow_is_a_504(
    client: FlaskClient, admin: Admin, market: FakeMassiveRest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARKET_UPSTREAM_DEADLINE_S", "1")
    get_settings.cache_clear()
    market.delay_s = 1.5
    status, body, _ = get(client, admin, f"/api/market/options/contracts/O:SPY{NEAREST:%y%m%d}C00600000")
    assert status == 504 and body["error"]["code"] == "upstream_timeout"


# ------------------------------------------------------------------------------------------ many admins


@pytest.fixture
def twenty_connections(monkeypatch: pytest.MonkeyPatch) -> None:
    """A pool as wide as the twenty simultaneous requests (one Lambda container serves one at a time)."""
    monkeypatch.setenv("DB_POOL_MAX_SIZE", "25")
    get_settings.cache_clear()
    reset_for_tests()


def test_twenty_admins_opening_one_chain_at_once_cost_one_upstream_request(
    app: Flask, make_token: MakeToken, market: FakeMassiveRest, twenty_connections: None
) -> None:
    market.delay_s = 0.3  # Massive's own latency: every request arrives while the first fetch is in flight
    admins = [Admin(*make_token()) for _ in range(20)]
    statuses: list[int] = []
    start = threading.Barrier(len(admins))

    def open_chain(admin: Admin) -> None:
        client = app.test_client()
        start.wait()
        statuses.append(client.get(f"/api/market/options/SPY/chain?expiration={NEAREST}", headers=admin.headers)
                        .status_code)

    threads = [threading.Thread(target=open_chain, args=(admin,)) for admin in admins]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert statuses == [200] * 20
    assert upstream(market, "/v3/snapshot/options/SPY", expiration_date=NEAREST.isoformat()) == 1


def test_each_admin_has_a_limit_a_minute_and_another_admin_is_not_held_by_it(
    client: FlaskClient, admin: Admin, other_admin: Admin, market: FakeMassiveRest, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MARKET_REQUESTS_PER_MINUTE", "3")
    get_settings.cache_clear()
    assert [get(client, admin, "/api/market/quotes?symbols=SPY")[0] for _ in range(3)] == [200, 200, 200]
    status, body, headers = get(client, admin, "/api/market/quotes?symbols=SPY")
    assert status == 429 and body["error"]["code"] == "rate_limited"
    assert 1 <= int(headers["Retry-After"]) <= 60
    assert get(client, other_admin, "/api/market/quotes?symbols=SPY")[0] == 200


def test_the_market_routes_are_for_admins_only(
    client: FlaskClient, member: Admin, market: FakeMassiveRest
) -> None:
    for path in ("/api/market/quotes?symbols=SPY", "/api/market/options/SPY/expirations"):
        assert client.get(path).status_code == 401
        response = client.get(path, headers=member.headers)
        assert response.status_code == 403 and response.get_json()["error"]["code"] == "not_an_admin"
    assert market.seen == []


def test_the_key_is_never_in_an_answer_or_a_log(
    client: FlaskClient, admin: Admin, market: FakeMassiveRest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    market.fail_next(403, path_prefix="/v2/snapshot/")
    answers = [
        client.get(path, headers=admin.headers).get_data(as_text=True)
        for path in ("/api/market/quotes?symbols=SPY", f"/api/market/options/SPY/chain?expiration={NEAREST}",
                     "/api/market/options/contracts/O:SPY261204C00999000")
    ]
    assert all(seen.authorization == "Bearer test-key" for seen in market.seen)
    assert not any("test-key" in text for text in answers)
    assert "test-key" not in caplog.text


def test_without_a_key_the_routes_say_market_data_is_not_configured(
    client: FlaskClient, admin: Admin, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("MASSIVE_API_KEY", raising=False)
    monkeypatch.setenv("MASSIVE_REST_URL", "https://api.massive.invalid")
    get_settings.cache_clear()
    status, body, _ = get(client, admin, "/api/market/quotes?symbols=SPY")
    assert status == 503 and body["error"]["code"] == "market_data_not_configured"
