"""The pure bounds: oldest-first waiting rooms and subscribe frames counted before any work."""

import pytest

from relay.core.channels import Cluster
from relay.core.subscriptions import TooManyNames, count_names, name_problems, parse_request, refusals
from relay.core.waiting import WaitingRoom


def test_a_full_waiting_room_turns_out_its_oldest_for_a_newcomer() -> None:
    room: WaitingRoom[str] = WaitingRoom(2)
    assert room.enter(1, "a") == [] and room.enter(2, "b") == []
    assert room.enter(3, "c") == ["a"]
    assert room.waiters() == ["b", "c"]


def test_leaving_a_waiting_room_frees_a_place() -> None:
    room: WaitingRoom[str] = WaitingRoom(2)
    room.enter(1, "a")
    room.enter(2, "b")
    assert room.leave(1) == "a" and room.leave(1) is None
    assert room.enter(3, "c") == [] and len(room) == 2


def test_names_are_counted_without_splitting_them() -> None:
    assert count_names("Q.O:A,T.*") == 2
    assert count_names("Q.O:A,T.*,") == 2
    assert count_names(["Q.O:A,T.*", "A.*"]) == 3
    assert count_names("") == 0


def test_a_frame_naming_more_than_the_limit_is_refused_whole() -> None:
    with pytest.raises(TooManyNames, match="at most 2 channels"):
        parse_request(Cluster.OPTIONS, "T.*,A.*,AM.*", limit=2)


def test_repeats_are_counted_once_and_reported_in_the_same_error_as_invalid_names() -> None:
    valid, errors, repeats = parse_request(Cluster.OPTIONS, "T.*,T.*,Q.*,nope", limit=10)
    assert [c.name for c in valid] == ["T.*"] and repeats == 1
    [event] = name_problems(errors, repeats)
    assert event.message == (
        "2 invalid channel names refused (Q.*: Q.* is not allowed on options: subscribe to contracts; "
        "nope: expected EV.SYMBOL, e.g. Q.O:SPY251219C00650000); 1 repeated names counted once")


def test_refusals_for_one_reason_are_one_error_naming_three() -> None:
    from relay.core.channels import ChannelError

    events = refusals(ChannelError(f"T.{n}", "full") for n in "abcde")
    assert [e.message for e in events] == ["5 channels refused (full): T.a, T.b, T.c and 2 more"]
