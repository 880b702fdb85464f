"""Right after a request commits deliveries: post them inline within a small budget, hand off the rest."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from uuid import UUID

from shared.delivery import store
from shared.delivery.dispatch_queue import HandOff, configured_hand_off, follow_up
from shared.delivery.engine import BUSY_POLL_S, DeliveryEngine, DrainResult

log = logging.getLogger(__name__)

MAX_INLINE_THREADS = 4

_engines: dict[str, DeliveryEngine] = {}
_engines_lock = threading.Lock()


def default_engine() -> DeliveryEngine:
    """The process's engine, talking to DISCORD_API_BASE with Discord's limits."""
    # Imported here: the client and `requests` cost a cold start ~40 ms, and most requests post nothing.
    from shared.config import get_settings
    from shared.discord.client import DiscordClient

    base = str(get_settings().discord_api_base)
    with _engines_lock:
        engine = _engines.get(base)
        if engine is None:
            engine = DeliveryEngine(DiscordClient(base))
            _engines[base] = engine
        return engine


def drain_until(
    engine: DeliveryEngine, channel_id: UUID, *, deadline: float, targets: Sequence[UUID] | None = None
) -> DrainResult:
    """Drain a channel, waiting out a busy head or a near limit, until done or `deadline`."""
    while True:
        result = engine.drain_channel(channel_id, deadline=deadline, targets=targets)
        now = time.time()
        if result.reason in ("idle", "targets_done", "deadline"):
            return result
        resume = now + BUSY_POLL_S if result.reason == "busy" else (result.next_at or now)
        resume = max(resume, now + BUSY_POLL_S / 5)
        if resume >= deadline:
            return result
        time.sleep(resume - now)


def deliver_now(
    engine: DeliveryEngine,
    delivery_ids: Sequence[UUID],
    *,
    budget_s: float,
    hand_off: HandOff,
) -> None:
    """Deliver these deliveries (and any older ones ahead of them) within `budget_s`, hand off the rest."""
    ids = list(delivery_ids)
    if not ids:
        return
    with engine.tx() as conn:
        channels = store.channels_of(conn, ids)
    deadline = time.time() + budget_s

    def one(channel_id: UUID) -> None:
        try:
            result = drain_until(engine, channel_id, deadline=deadline, targets=ids)
        except Exception:
            log.exception("inline delivery failed; handing off", extra={"channel_id": str(channel_id)})
            follow_up(hand_off, channel_id, reason="error", next_at=time.time(), now=time.time())
            return
        follow_up(hand_off, channel_id, reason=result.reason, next_at=result.next_at, now=time.time())

    if len(channels) == 1:
        one(channels[0])
        return
    with ThreadPoolExecutor(max_workers=min(MAX_INLINE_THREADS, len(channels))) as pool:
        list(pool.map(one, channels))


def dispatch_after_commit(delivery_ids: Sequence[UUID], *, budget_s: float = 2.5) -> None:
    """Call right after committing deliveries: posts inline within `budget_s`, queues the rest.

    Never raises for delivery trouble: results are recorded on the rows, and whatever could not be
    handed off is picked up by the sweeper.
    """
    try:
        deliver_now(default_engine(), delivery_ids, budget_s=budget_s, hand_off=configured_hand_off())
    except Exception:
        log.exception("dispatch failed; the sweeper will deliver", extra={"deliveries": len(delivery_ids)})
