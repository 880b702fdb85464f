"""With no key the relay streams plausible data from its built-in simulator through the same client."""

import random
from datetime import date

from relay.simulator import MarketModel, sample_contracts, tick_events
from tests.relay.conftest import StartRelay, has_status, recv_until, subscribe


def test_python_m_relay_with_only_defaults_streams_simulated_quotes(start_relay: StartRelay) -> None:
    relay = start_relay(MASSIVE_API_KEY=None, MASSIVE_WS_URL=None, MASSIVE_PROXY_TOKEN=None,
                        RELAY_IDLE_CLOSE_S=None)
    contract = sample_contracts(date.today())[0]
    options = relay.connect("options")
    subscribe(options, [f"Q.{contract}", "T.*"], expect_acks=2)
    recv_until(options, has_status("upstream_connected"))
    quotes = recv_until(options, lambda f: any(e.get("ev") == "Q" for e in f))[-1]
    quote = next(e for e in quotes if e["ev"] == "Q")
    assert quote["sym"] == contract and 0 < quote["bp"] <= quote["ap"]
    indices = relay.connect("indices")
    subscribe(indices, "V.SPX", expect_acks=1)
    value = recv_until(indices, lambda f: any(e.get("ev") == "V" for e in f), timeout=5)[-1]
    assert value[0]["T"] == "I:SPX" and value[0]["val"] > 0
    assert relay.health()[0] == 200


def test_simulated_events_follow_massive_payload_shapes() -> None:
    model = MarketModel(random.Random(3))
    today = date(2026, 11, 27)
    contract = sample_contracts(today)[0]
    events = tick_events(model, "options", [f"Q.{contract}", f"A.{contract}"], 4, 1_000, today)
    quote = next(e for e in events if e["ev"] == "Q")
    assert set(quote) == {"ev", "sym", "bx", "ax", "bp", "ap", "bs", "as", "t", "q"}
    aggregate = next(e for e in events if e["ev"] == "A")
    assert {"v", "av", "op", "vw", "o", "c", "h", "l", "a", "z", "s", "e"} <= set(aggregate)
    value = tick_events(model, "indices", ["V.I:SPX"], 4, 1_000, today)
    assert value == [{"ev": "V", "val": value[0]["val"], "T": "I:SPX", "t": 1_000}]
