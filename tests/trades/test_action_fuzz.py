"""Any sequence of actions with any inputs: never a 5xx, and the P&L shown is always the fills' own."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.trades.ledger import make_fill, position_pnl, replay
from tests.fakes.massive_rest import FakeMassiveRest
from tests.trades.conftest import Api, load_body

ACTIONS = st.sampled_from(["enter", "trim", "add", "update_sl", "trail_stop", "update", "exit", "share_exit"])
PRICES = st.one_of(
    st.none(),
    st.decimals(min_value=Decimal(0), max_value=Decimal("99999999.9999"), places=4).map(str),
    st.sampled_from(["-1", "0", "1e30", "NaN", "1.20", "abc"]),
)
BODIES = st.fixed_dictionaries(
    {"action": ACTIONS},
    optional={
        "price": PRICES,
        "stop_loss": PRICES,
        "target_price": PRICES,
        "trim_percent": st.one_of(st.integers(-5, 120), st.sampled_from(["33.33", "0.01", "100"])),
        "quantity": st.one_of(st.integers(-1, 200_000)),
        "bid": PRICES,
        "ask": PRICES,
    },
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.integers(1, 20), st.lists(BODIES, min_size=1, max_size=8))
def test_no_action_sequence_reaches_a_5xx_and_the_pnl_is_the_fills(
    api: Api, contracts: int, bodies: list[dict[str, Any]]
) -> None:
    trade = api.load()
    # Entered first, so the sequences reach trims, adds and exits.
    api.act(trade["id"], "enter", price="1.20", quantity=contracts)
    for body in bodies:
        response = api.post(f"/api/trades/{trade['id']}/actions", body)
        assert response.status_code < 500, (body, response.get_json())
    shown = api.get(f"/api/trades/{trade['id']}").get_json()
    fills = [
        make_fill(f["side"], Decimal(f["contracts"]), Decimal(f["price"])) for f in shown["fills"]
    ]
    if not fills:
        assert shown["trade"]["pnl"]["gross"] is None
        return
    mark = Decimal(shown["trade"]["pnl"]["mark"])
    expected = position_pnl(replay(fills), mark)
    assert shown["trade"]["pnl"]["gross"] == f"{expected.gross:.2f}"


CREATE_BODIES = st.fixed_dictionaries(
    {"action": st.sampled_from(["load", "enter"])},
    optional={
        "entry_price": PRICES,
        "current_price": PRICES,
        "target_price": PRICES,
        "stop_loss": PRICES,
        "target_underlying": PRICES,
        "stop_underlying": PRICES,
        "quantity": st.integers(-1, 200_000),
        "bid": PRICES,
        "ask": PRICES,
        "trade_type": st.sampled_from(["Scalp", "LEAP", "Swing ", ""]),
    },
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(CREATE_BODIES)
def test_no_new_trade_body_reaches_a_5xx(api: Api, quoted: FakeMassiveRest, body: dict[str, Any]) -> None:
    # quoted: a load without a price takes the contract's mid from the fake Massive.
    response = api.post("/api/trades", load_body(**body))
    assert response.status_code < 500, (body, response.get_json())
    if response.status_code == 201:
        pnl = response.get_json()["trade"]["pnl"]
        assert (pnl["gross"] is None) == (body["action"] == "load")
