"""Malformed input never crashes the relay nor disturbs other clients (property-based)."""

import json
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.fakes.massive import FakeMassive
from tests.relay.conftest import RelayProcess, admin_token, recv_until, statuses, subscribe
from tests.relay.rawclient import RawClient

X = "O:SPY251219C00650000"
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)
FRAMES = st.one_of(
    st.text(max_size=200),
    JSON.map(json.dumps),
    st.fixed_dictionaries(
        {"action": st.sampled_from(["subscribe", "unsubscribe", "ping", "Subscribe", ""]) | st.text(max_size=8)},
        optional={"params": JSON | st.lists(st.text(max_size=40), max_size=5)
                  | st.text(alphabet="QTAMV.O:I*,SPX0123456789 ", max_size=80)},
    ).map(json.dumps),
)


def bystander_still_served(relay: RelayProcess, massive: FakeMassive, bystander, bid: float) -> None:
    massive.emit("options", [{"ev": "Q", "sym": X, "bp": bid}])
    recv_until(bystander, lambda f: {"ev": "Q", "sym": X, "bp": bid} in f)
    assert relay.process.poll() is None


def test_malformed_client_frames_get_errors_and_break_nothing(relay: RelayProcess, massive: FakeMassive) -> None:
    bystander = relay.connect()
    subscribe(bystander, f"Q.{X}", expect_acks=1)
    massive.wait_for(lambda: massive.subscriptions("options") == {f"Q.{X}"})
    fuzzer = relay.connect()

    @settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(frame=FRAMES)
    def one_frame(frame: str) -> None:
        if '"auth"' in frame:
            return  # a bad auth frame rightly ends the session; covered by its own test
        time.sleep(0.045)  # stay under 50 frames a second: this test is about content, not rate
        fuzzer.send(frame)
        fuzzer.send(json.dumps({"action": "ping"}))
        for reply in recv_until(fuzzer, lambda f: bool(statuses(f, "pong"))):
            assert isinstance(reply, list) and all(event["ev"] == "status" for event in reply)

    one_frame()
    bystander_still_served(relay, massive, bystander, 4.25)


def test_garbage_on_the_wire_never_crashes_the_relay(relay: RelayProcess, massive: FakeMassive) -> None:
    bystander = relay.connect()
    subscribe(bystander, f"Q.{X}", expect_acks=1)
    massive.wait_for(lambda: massive.subscriptions("options") == {f"Q.{X}"})
    token = admin_token()

    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), database=None)
    @given(data=st.binary(min_size=1, max_size=300))
    def garbage(data: bytes) -> None:
        client = RawClient("127.0.0.1", relay.port, f"/ws/options?token={token}")
        client.send_raw(data)
        client.abort()

    garbage()
    bystander_still_served(relay, massive, bystander, 5.5)
    relay.wait_health(lambda b: b["metrics"]["options"]["totalClients"] == 1, what="garbage clients reaped")
