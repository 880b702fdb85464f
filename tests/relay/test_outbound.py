"""A client's outbound queue: whole frames while it keeps up, conflation when it lags, a hard stop."""

import json

from relay.core.hub import Delivery
from relay.core.outbound import OutboundQueue


def quote(sym: str, bid: float) -> tuple[str, bytes]:
    return (f"Q.{sym}", json.dumps({"ev": "Q", "sym": sym, "bp": bid}).encode())


def trade(sym: str, price: float) -> tuple[None, bytes]:
    return (None, json.dumps({"ev": "T", "sym": sym, "p": price}).encode())


def delivery(*parts) -> Delivery:
    return Delivery(b"[" + b",".join(p for _, p in parts) + b"]", tuple(parts))


def drain(queue: OutboundQueue) -> list:
    out = []
    while (frame := queue.pop()) is not None:
        out.append(json.loads(frame))
    return out


def test_below_the_soft_limit_every_frame_arrives_as_routed() -> None:
    queue = OutboundQueue(soft_limit=10_000, hard_limit=20_000)
    queue.push(delivery(quote("O:A", 1.0)))
    queue.push(delivery(quote("O:A", 1.1), trade("O:A", 1.2)))
    assert drain(queue) == [
        [{"ev": "Q", "sym": "O:A", "bp": 1.0}],
        [{"ev": "Q", "sym": "O:A", "bp": 1.1}, {"ev": "T", "sym": "O:A", "p": 1.2}],
    ]
    assert queue.queued_bytes == 0


def test_past_the_soft_limit_only_the_latest_quote_per_channel_is_kept() -> None:
    queue = OutboundQueue(soft_limit=60, hard_limit=10_000)
    queue.push(delivery(quote("O:A", 1.0)))
    first = queue.push(delivery(quote("O:A", 1.1)))
    second = queue.push(delivery(quote("O:A", 1.2), quote("O:B", 5.0)))
    assert first.started_conflating and not second.started_conflating
    assert second.conflated == 1
    assert drain(queue) == [
        [{"ev": "Q", "sym": "O:A", "bp": 1.0}],
        [{"ev": "Q", "sym": "O:A", "bp": 1.2}, {"ev": "Q", "sym": "O:B", "bp": 5.0}],
    ]


def test_trades_are_never_conflated() -> None:
    queue = OutboundQueue(soft_limit=10, hard_limit=10_000)
    for price in (1.0, 2.0, 3.0):
        queue.push(delivery(trade("O:A", price)))
    prices = [event["p"] for frame in drain(queue) for event in frame]
    assert prices == [1.0, 2.0, 3.0]


def test_past_the_hard_limit_the_queue_reports_overflow() -> None:
    queue = OutboundQueue(soft_limit=100, hard_limit=300)
    outcomes = [queue.push(delivery(trade("O:A", float(i)))) for i in range(20)]
    assert outcomes[-1].overflow and not outcomes[0].overflow


def test_quotes_alone_stay_bounded_by_their_channels_however_long_the_client_lags() -> None:
    queue = OutboundQueue(soft_limit=100, hard_limit=1000)
    for i in range(10_000):
        assert not queue.push(delivery(quote(f"O:{i % 3}", float(i)))).overflow
    assert queue.queued_bytes < 300


def test_status_frames_count_towards_the_limit() -> None:
    queue = OutboundQueue(soft_limit=10, hard_limit=20)
    assert queue.push_frame(b"x" * 20)
    assert not queue.push_frame(b"y")


def test_clearing_frees_everything() -> None:
    queue = OutboundQueue(soft_limit=10, hard_limit=10_000)
    queue.push(delivery(quote("O:A", 1.0), trade("O:A", 1.0)))
    queue.push(delivery(quote("O:A", 1.0), trade("O:A", 1.0)))
    queue.clear()
    assert queue.queued_bytes == 0 and queue.pop() is None
