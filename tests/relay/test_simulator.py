"""With no key the relay streams plausible data from its built-in simulator, and says so."""

import random
from datetime import date

import requests
from websockets.sync.client import connect

from relay.simulator import BarBook, MarketModel, sample_contracts, tick_events
from tests.relay.conftest import StartRelay, admin_token, has_status, recv_json, recv_until, statuses, subscribe

SIMULATED = "Connected Successfully (simulated data from the relay's built-in simulator, not Massive)"


def test_python_m_relay_with_only_defaults_streams_simulated_quotes_and_says_so(start_relay: StartRelay) -> None:
    relay = start_relay(MASSIVE_API_KEY=None, MASSIVE_WS_URL=None, MASSIVE_PROXY_TOKEN=None,
                        RELAY_IDLE_CLOSE_S=None)
    contract = sample_contracts(date.today())[0]
    options = connect(relay.ws_url("options", admin_token()))
    assert recv_json(options) == [{"ev": "status", "status": "connected", "message": SIMULATED}]
    subscribe(options, [f"Q.{contract}", "T.*"], expect_acks=2)
    recv_until(options, has_status("upstream_connected", "the relay's built-in simulator (options): simulated data"))
    quotes = recv_until(options, lambda f: any(e.get("ev") == "Q" for e in f))[-1]
    quote = next(e for e in quotes if e["ev"] == "Q")
    assert quote["sym"] == contract and 0 < quote["bp"] <= quote["ap"]
    indices = connect(relay.ws_url("indices", admin_token()))
    recv_json(indices)
    subscribe(indices, "V.SPX", expect_acks=1)
    value = recv_until(indices, lambda f: any(e.get("ev") == "V" for e in f), timeout=5)[-1]
    assert next(e for e in value if e.get("ev") == "V")["T"] == "I:SPX"
    code, body = relay.health()
    assert code == 200 and body["source"] == "simulator"
    assert any("simulated data" in warning for warning in body["warnings"])
    assert requests.get(f"{relay.http}/api/health", timeout=5).status_code == 200


def test_ws_health_says_massive_when_the_relay_has_a_key(start_relay: StartRelay) -> None:
    relay = start_relay()
    assert relay.health()[1]["source"] == "massive"


def test_the_simulator_refuses_an_index_it_does_not_know_and_the_relay_releases_it(start_relay: StartRelay) -> None:
    relay = start_relay(MASSIVE_API_KEY=None, MASSIVE_WS_URL=None, MASSIVE_PROXY_TOKEN=None)
    ws = connect(relay.ws_url("indices", admin_token()))
    recv_json(ws)
    subscribe(ws, "V.I:NOPE", expect_acks=1)
    told = recv_until(ws, has_status("error", "upstream refused V.I:NOPE"))
    assert "the simulator has no such index" in statuses(told[-1], "error")[0]["message"]
    relay.wait_health(lambda b: b["metrics"]["indices"]["activeSubscriptions"] == 0, what="V.I:NOPE released")


def test_bars_are_built_by_hand_from_the_values_sampled() -> None:
    book = BarBook()
    assert book.sample("I:SPX", 100.0, 0, 59_000) == (None, None)
    assert book.sample("I:SPX", 103.0, 0, 59_500) == (None, None)
    second, minute = book.sample("I:SPX", 101.0, 0, 60_100)
    assert second is not None and minute is not None
    assert (second.start_ms, second.end_ms, second.open, second.high, second.low, second.close) == (
        59_000, 60_000, 100.0, 103.0, 100.0, 103.0)
    assert (minute.start_ms, minute.end_ms, minute.open, minute.high, minute.low, minute.close) == (
        0, 60_000, 100.0, 103.0, 100.0, 103.0)
    book.sample("I:SPX", 99.0, 0, 60_600)
    second, minute = book.sample("I:SPX", 102.0, 0, 61_000)
    assert second is not None and minute is None
    assert (second.start_ms, second.open, second.high, second.low, second.close) == (60_000, 101.0, 101.0, 99.0, 99.0)


def simulate(channels: list[str], cluster: str, seconds: int, start_ms: int) -> list[dict]:
    model, bars, today = MarketModel(random.Random(7)), BarBook(), date(2026, 11, 27)
    events: list[dict] = []
    for tick in range(seconds * 4):
        model.step()
        events += tick_events(model, cluster, channels, bars, start_ms + tick * 250, today)
    return events


def assert_minutes_aggregate_their_seconds(events: list[dict], volume: bool) -> None:
    seconds = [e for e in events if e["ev"] == "A"]
    minutes = [e for e in events if e["ev"] == "AM"]
    assert len(minutes) == 2
    for bar in seconds:
        assert bar["s"] % 1000 == 0 and bar["e"] - bar["s"] == 1000
        assert bar["l"] <= min(bar["o"], bar["c"]) <= max(bar["o"], bar["c"]) <= bar["h"]
    for minute in minutes:
        assert minute["s"] % 60_000 == 0 and minute["e"] - minute["s"] == 60_000
        inside = [bar for bar in seconds if minute["s"] <= bar["s"] < minute["e"]]
        assert minute["o"] == inside[0]["o"] and minute["c"] == inside[-1]["c"]
        assert minute["h"] == max(bar["h"] for bar in inside) and minute["l"] == min(bar["l"] for bar in inside)
        if volume:
            assert minute["v"] == sum(bar["v"] for bar in inside)
    assert len([bar for bar in seconds if minutes[1]["s"] <= bar["s"] < minutes[1]["e"]]) == 60
    assert minutes[1]["h"] > minutes[1]["l"], "a minute of a random walk moved"


def test_simulated_index_minute_bars_are_the_aggregate_of_their_second_bars() -> None:
    events = simulate(["A.I:SPX", "AM.I:SPX"], "indices", 150, start_ms=1_764_000_017_130)
    assert_minutes_aggregate_their_seconds(events, volume=False)


def test_simulated_option_minute_bars_are_the_aggregate_of_their_second_bars() -> None:
    contract = sample_contracts(date(2026, 11, 27))[2]
    events = simulate([f"A.{contract}", f"AM.{contract}"], "options", 150, start_ms=1_764_000_017_130)
    assert_minutes_aggregate_their_seconds(events, volume=True)


def test_simulated_events_follow_massive_payload_shapes() -> None:
    model, bars = MarketModel(random.Random(3)), BarBook()
    today = date(2026, 11, 27)
    contract = sample_contracts(today)[0]
    tick_events(model, "options", [f"Q.{contract}", f"A.{contract}"], bars, 1_000, today)
    events = tick_events(model, "options", [f"Q.{contract}", f"A.{contract}"], bars, 2_000, today)
    quote = next(e for e in events if e["ev"] == "Q")
    assert set(quote) == {"ev", "sym", "bx", "ax", "bp", "ap", "bs", "as", "t", "q"}
    aggregate = next(e for e in events if e["ev"] == "A")
    assert {"v", "av", "op", "vw", "o", "c", "h", "l", "a", "z", "s", "e"} <= set(aggregate)
    tick_events(model, "indices", ["V.I:SPX"], bars, 1_000, today)
    value = tick_events(model, "indices", ["V.I:SPX"], bars, 2_000, today)
    assert value == [{"ev": "V", "val": value[0]["val"], "T": "I:SPX", "t": 2_000}]
