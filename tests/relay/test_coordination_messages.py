"""The member protocol's codec: every message survives a round trip, speaks the wire format of the
members before it, and malformed bytes are refused with MessageError."""

from __future__ import annotations

import orjson
import pytest

from relay.coordination import messages
from relay.coordination.messages import MessageError, decode, encode
from relay.core.channels import ChannelError, Cluster
from relay.core.frames import Status

OPTIONS, INDICES = Cluster.OPTIONS, Cluster.INDICES
EVERY_KIND: list[messages.Message] = [
    messages.Leader(7, "relay-a#1f2e"),
    messages.Released(7),
    messages.UpstreamStatus(7, OPTIONS, Status.UPSTREAM_CONNECTED, "connected to Massive options", "connected"),
    messages.UpstreamStatus(7, INDICES, Status.UPSTREAM_DISCONNECTED, None, "backoff"),
    messages.UpstreamState(7, OPTIONS, True, "connected"),
    messages.UpstreamRefused(7, OPTIONS, "not authorized for: Q.O:SPY251219C00650000"),
    messages.Intent("relay-b#0a0b", 3, INDICES, ("I:SPX", "I:VIX"), ("I:NDX",), "9f8e7d6c5b4a"),
    messages.Intent("relay-b#0a0b", 4, OPTIONS),
    messages.Verdict("9f8e7d6c5b4a", OPTIONS, (("Q.O:SPY251219C00650000", "quote cap reached"),)),
    messages.Verdict(None, INDICES),
    messages.Snapshot("relay-b", 4, {OPTIONS: ("Q.O:SPY251219C00650000",), INDICES: ()}, {OPTIONS: 2, INDICES: 0}),
]


@pytest.mark.parametrize("message", EVERY_KIND, ids=lambda m: type(m).__name__)
def test_every_message_survives_a_round_trip(message: messages.Message) -> None:
    assert decode(encode(message)) == message


def test_a_control_message_is_the_json_object_members_already_speak() -> None:
    raw = encode(messages.UpstreamStatus(3, OPTIONS, Status.UPSTREAM_DISCONNECTED, "lost it", "backoff"))
    assert orjson.loads(raw) == {
        "t": "status", "token": 3, "cluster": "options", "status": "upstream_disconnected",
        "message": "lost it", "state": "backoff",
    }
    assert orjson.loads(encode(messages.Released(3))) == {"t": "released", "token": 3}


def test_intents_verdicts_and_snapshots_of_members_without_kinds_are_read_by_their_channel() -> None:
    """The members before this codec sent these three without `t`: a rolling restart mixes both."""
    intent = b'{"member":"m#1","seq":2,"cluster":"options","sub":["Q.O:A"],"unsub":[],"rid":null}'
    assert decode(intent, "intent") == messages.Intent("m#1", 2, OPTIONS, ("Q.O:A",), (), None)
    verdict = b'{"rid":"r1","cluster":"indices","refused":[["I:X","not a known index"]]}'
    decoded = decode(verdict, "verdict")
    assert isinstance(decoded, messages.Verdict)
    assert [(e.channel, e.reason) for e in decoded.errors] == [("I:X", "not a known index")]
    assert all(isinstance(e, ChannelError) for e in decoded.errors)
    snapshot = b'{"node":"relay-a","seq":9,"held":{"options":["Q.O:A"]}}'
    assert decode(snapshot, "snapshot") == messages.Snapshot("relay-a", 9, {OPTIONS: ("Q.O:A",)}, {})


def test_a_message_naming_its_kind_is_read_as_that_kind_whatever_the_channel_implies() -> None:
    assert decode(encode(messages.Released(2)), "intent") == messages.Released(2)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"not json",
        b"[1, 2]",
        b'"leader"',
        b"{}",
        b'{"t": "coup", "token": 1}',
        b'{"t": "leader", "token": 1}',
        b'{"t": "leader", "token": "one", "member": "m"}',
        (
            b'{"t": "status", "token": 1, "cluster": "futures", "status": "upstream_connected", "message": null, '
            b'"state": "connected"}'
        ),
        b'{"t": "status", "token": 1, "cluster": "options", "status": "maybe", "message": null, "state": "x"}',
        b'{"t": "state", "token": 1, "cluster": "options", "connected": "perhaps", "state": "x"}',
        b'{"t": "verdict", "rid": null, "cluster": "options", "refused": [["only a name"]]}',
        b'{"t": "snapshot", "node": "n", "seq": 1}',
        b'{"t": "snapshot", "node": "n", "seq": 1, "held": {"futures": []}}',
    ],
)
def test_malformed_bytes_are_refused(raw: bytes) -> None:
    with pytest.raises(MessageError):
        decode(raw)


def test_an_implied_kind_does_not_rescue_a_malformed_message() -> None:
    with pytest.raises(MessageError):
        decode(b'{"member": "m", "cluster": "options"}', "intent")
    with pytest.raises(MessageError):
        decode(b"[]", "snapshot")
