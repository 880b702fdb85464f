"""`POST /api/trades` from just an OCC symbol, priced from the contract's snapshot on the fake Massive."""

from __future__ import annotations

import json
import logging
from decimal import Decimal
from typing import Any

import pytest

from shared.trades.models import Trade
from shared.trades.sources import premium_of_mid, price_sources
from tests.fakes.massive_rest import NOT_AUTHORIZED_BODY, RATE_LIMIT_BODY, FakeMassiveRest
from tests.trades.conftest import SPY_EXPIRY, Api, load_body

OCC = "O:SPY251219C00650000"  # the SPY 650 call of 2025-12-19: 14 DTE on the tests' clock
EXPIRY = SPY_EXPIRY
SNAPSHOT = "/v3/snapshot/options/SPY/" + OCC


def snapshot_requests(fake: FakeMassiveRest) -> int:
    return len(fake.requests_to(SNAPSHOT))


def _created(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


# ------------------------------------------------------------------------------------------ the contract alone


def test_the_occ_symbol_alone_gives_strike_expiry_and_type(api: Api, quoted: FakeMassiveRest) -> None:
    body = _created(api.post("/api/trades", load_body(contract="o:spy251219c00650000")))
    assert body["trade"]["contract"] == {"symbol": OCC, "strike": "650.00", "expiry": "2025-12-19", "type": "call"}
    assert body["trade"]["trade_type"] == "Day"  # 14 DTE, as with the parts spelled out
    assert snapshot_requests(quoted) == 0  # the body gave current_price: Massive is not asked


def test_given_parts_are_checked_against_the_symbol(api: Api) -> None:
    response = api.post("/api/trades", load_body(contract={"symbol": OCC, "strike": "655"}))
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "contract.strike"
    response = api.post("/api/trades", load_body(contract={"symbol": OCC, "expiry": "2025-12-19", "type": "call"}))
    assert response.status_code == 201


def test_an_edit_may_name_the_contract_by_its_symbol_alone(api: Api, quoted: FakeMassiveRest) -> None:
    trade = api.load()
    response = api.patch(f"/api/trades/{trade['id']}", {"contract": "O:SPY251219P00640000"})
    assert response.status_code == 200, response.get_json()
    contract = response.get_json()["trade"]["contract"]
    assert (contract["strike"], contract["type"]) == ("640.00", "put")


# ------------------------------------------------------------------------------------------ priced from the snapshot


def test_without_a_current_price_loading_takes_the_snapshots_mid(api: Api, quoted: FakeMassiveRest) -> None:
    body = _created(api.post("/api/trades", load_body(contract=OCC, current_price=None)))
    trade = body["trade"]
    # By hand: (1.15 + 1.20) / 2 = 1.175; 14 DTE defaults ×2 = 2.35 and ×0.3 = 0.3525 → 0.35 (half-up cents).
    assert (trade["current_price"], trade["target_price"], trade["stop_loss"]) == ("1.175", "2.35", "0.35")
    assert body["price_sources"] == {
        "entry_price": None, "current_price": "snapshot", "target_price": "default", "stop_loss": "default",
    }  # fmt: skip
    assert (body["snapshot"]["occ"], body["snapshot"]["bid"], body["snapshot"]["ask"], body["snapshot"]["mid"]) == (
        OCC, 1.15, 1.2, 1.175,
    )  # fmt: skip
    assert snapshot_requests(quoted) == 1


def test_a_given_current_price_and_levels_are_the_requests(api: Api, quoted: FakeMassiveRest) -> None:
    body = _created(api.post("/api/trades", load_body(contract=OCC, target_price="2.00")))
    assert body["price_sources"] == {
        "entry_price": None, "current_price": "request", "target_price": "request", "stop_loss": "default",
    }  # fmt: skip
    assert body["snapshot"] is None


def test_entering_takes_the_entry_and_never_asks_massive(api: Api, quoted: FakeMassiveRest) -> None:
    body = _created(api.post("/api/trades", load_body(contract=OCC, action="enter", entry_price="1.10",
                                                       current_price=None)))
    assert body["trade"]["current_price"] == "1.10"
    assert (body["price_sources"]["entry_price"], body["price_sources"]["current_price"]) == ("request", "entry")
    assert snapshot_requests(quoted) == 0


def test_two_loads_of_one_contract_within_its_life_cost_one_snapshot(api: Api, quoted: FakeMassiveRest) -> None:
    for _ in range(2):
        _created(api.post("/api/trades", load_body(contract=OCC, current_price=None)))
    assert snapshot_requests(quoted) == 1


def test_a_contract_without_a_two_sided_quote_asks_for_the_price(api: Api, quoted: FakeMassiveRest) -> None:
    response = api.post("/api/trades", load_body(contract="O:SPY251219C00660000", current_price=None))
    assert response.status_code == 422
    assert response.get_json()["error"]["field"] == "current_price"


# ------------------------------------------------------------------------------------------ upstream trouble


def test_massives_429_is_a_503_with_retry_after(api: Api, quoted: FakeMassiveRest) -> None:
    quoted.fail_next(429, path_prefix="/v3/snapshot/options/")
    response = api.post("/api/trades", load_body(contract=OCC, current_price=None))
    assert (response.status_code, response.headers["Retry-After"]) == (503, "10")
    assert response.get_json()["error"]["code"] == "upstream_rate_limited"
    assert RATE_LIMIT_BODY["error"] not in response.get_data(as_text=True)
    assert api.get("/api/trades").get_json()["trades"] == []  # nothing saved


def test_massives_403_is_a_403_not_entitled(api: Api, quoted: FakeMassiveRest) -> None:
    quoted.forbidden_prefixes.add("/v3/snapshot/options/")
    response = api.post("/api/trades", load_body(contract=OCC, current_price=None))
    assert response.status_code == 403 and response.get_json()["error"]["code"] == "not_entitled"
    assert OCC in response.get_json()["error"]["message"]
    assert NOT_AUTHORIZED_BODY["message"] not in response.get_data(as_text=True)


def test_a_contract_massive_does_not_list_is_a_404(api: Api, quoted: FakeMassiveRest) -> None:
    response = api.post("/api/trades", load_body(contract="O:SPY251219C00999000", current_price=None))
    assert response.status_code == 404 and response.get_json()["error"]["code"] == "not_found"


def test_massive_too_slow_is_a_504(api: Api, quoted: FakeMassiveRest, monkeypatch: pytest.MonkeyPatch) -> None:
    from shared.config import get_settings

    monkeypatch.setenv("MARKET_UPSTREAM_DEADLINE_S", "1")
    get_settings.cache_clear()
    quoted.delay_s = 1.5
    response = api.post("/api/trades", load_body(contract=OCC, current_price=None))
    assert response.status_code == 504 and response.get_json()["error"]["code"] == "upstream_timeout"


def test_the_key_is_never_in_the_answer_or_a_log(
    api: Api, quoted: FakeMassiveRest, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    answers = [api.post("/api/trades", load_body(contract=OCC, current_price=None)).get_data(as_text=True)]
    quoted.fail_next(429, path_prefix="/v3/snapshot/options/")
    answers.append(api.post("/api/trades", load_body(contract="O:SPY251219P00650000", current_price=None))
                   .get_data(as_text=True))
    assert all(seen.authorization == "Bearer test-key" for seen in quoted.seen) and quoted.seen
    assert not any("test-key" in text for text in answers)
    assert "test-key" not in caplog.text


# ------------------------------------------------------------------------------------------ pure


@pytest.mark.parametrize(
    ("mid", "premium"),
    [(1.175, Decimal("1.175")), (0.0005, Decimal("0.0005")), (0.00004, None), (0.0, None), (None, None),
     (12.3456789, Decimal("12.3457"))],
)
def test_a_mid_becomes_a_premium_to_four_places(mid: float | None, premium: Decimal | None) -> None:
    assert premium_of_mid(mid) == premium


def test_an_alert_edit_is_named_before_the_body() -> None:
    trade = Trade(ticker="SPY", contract=OCC, underlying="SPY", strike=Decimal(650), expiry=EXPIRY, side="call",
                  trade_type="Day", state="loaded", current_price=Decimal("1.30"), target_price=Decimal("2.60"))
    sources = price_sources(trade, requested={"current_price": Decimal("1.20")}, edited={"current": Decimal("1.30")},
                            entered=False, quoted=False)
    assert sources == {"entry_price": None, "current_price": "alert", "target_price": "default", "stop_loss": None}
    assert json.dumps(sources)


def test_without_a_key_loading_without_a_price_is_a_503_naming_the_missing_configuration(api: Api) -> None:
    # The tests' environment has no MASSIVE_API_KEY and Massive's real address: nothing leaves the machine.
    response = api.post("/api/trades", load_body(contract=OCC, current_price=None))
    assert response.status_code == 503
    assert response.get_json()["error"]["code"] == "market_data_not_configured"
    assert api.post("/api/trades", load_body(contract=OCC)).status_code == 201  # with a price, no key is needed
