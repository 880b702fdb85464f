"""The sweeper: every minute, finish whatever is past its time (lost queue messages, dead senders)."""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from uuid import UUID

from shared.delivery.dispatch_queue import HandOff, follow_up
from shared.delivery.engine import DeliveryEngine, iter_due_channels

log = logging.getLogger(__name__)

# No more threads than a Lambda's pool has connections (DB_POOL_MAX_SIZE, 2 by default).
SWEEP_THREADS = 2


@dataclass(frozen=True)
class SweepReport:
    """What one sweep found and did."""

    channels: int
    sent: int


def sweep(
    engine: DeliveryEngine, *, deadline: float, hand_off: HandOff | None = None, drain: bool = True
) -> SweepReport:
    """Drain every channel with work past its time until `deadline`; hand off what is left.

    With `drain=False` the channels are only handed to `hand_off` (the local worker's senders
    drain them), so the sweep never competes with the senders for connections.
    """
    channels = list(iter_due_channels(engine, now=time.time()))
    if not channels:
        return SweepReport(0, 0)
    if not drain and hand_off is not None:
        for channel_id in channels:
            follow_up(hand_off, channel_id, reason="swept", next_at=time.time(), now=time.time())
        return SweepReport(len(channels), 0)

    def one(channel_id: UUID) -> int:
        try:
            result = engine.drain_channel(channel_id, deadline=deadline)
        except Exception:
            log.exception("sweep of a channel failed", extra={"channel_id": str(channel_id)})
            return 0
        if hand_off is not None:
            follow_up(hand_off, channel_id, reason=result.reason, next_at=result.next_at, now=time.time())
        return result.sent

    with ThreadPoolExecutor(max_workers=min(SWEEP_THREADS, len(channels))) as pool:
        sent = sum(pool.map(one, channels))
    report = SweepReport(len(channels), sent)
    log.info("discord sweep", extra={"channels": report.channels, "sent": report.sent})
    return report
