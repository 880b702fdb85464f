"""The local server's in-process sender and sweeper (used when ALERT_QUEUE_URL is unset)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from shared.delivery.dispatch_queue import LocalQueue, follow_up, local_queue
from shared.delivery.engine import DeliveryEngine
from shared.delivery.sweeper import sweep

log = logging.getLogger(__name__)

SENDER_THREADS = 2
DRAIN_SLICE_S = 30.0
SWEEP_EVERY_S = 60.0
STOP_WAIT_S = 3.0
# Longer waits for a rate limit go back on the queue, freeing the thread for other channels.
MAX_PERMIT_WAIT_S = 0.25


def start_local_worker(
    *,
    engine: DeliveryEngine | None = None,
    queue: LocalQueue | None = None,
    senders: int = SENDER_THREADS,
    sweep_every_s: float = SWEEP_EVERY_S,
) -> Callable[[], None]:
    """Start daemon threads draining the local queue and sweeping every minute; returns `stop()`."""
    from shared.delivery.dispatch import default_engine

    work = queue or local_queue()
    stopping = threading.Event()

    def engine_now() -> DeliveryEngine:
        return engine or default_engine()

    def send_loop() -> None:
        while not stopping.is_set():
            channel_id = work.get(timeout_s=0.25)
            if channel_id is None:
                continue
            try:
                result = engine_now().drain_channel(
                    channel_id, deadline=time.time() + DRAIN_SLICE_S, max_wait_s=MAX_PERMIT_WAIT_S
                )
            except Exception:
                log.exception("local sender failed; retrying shortly", extra={"channel_id": str(channel_id)})
                work.send(channel_id, delay_s=5.0)
                continue
            if result.reason == "busy" and result.next_at is not None:
                # Another sender holds the head and hands on what it leaves; should it die
                # first (its thread, its database connection), its claim runs out at next_at and
                # this queue takes the channel up then, not at the next sweep. The queue keeps
                # one entry per channel, so a holder's earlier hand-off replaces this one.
                work.send(channel_id, delay_s=max(result.next_at - time.time(), 0.0))
                continue
            follow_up(work, channel_id, reason=result.reason, next_at=result.next_at, now=time.time())

    def sweep_loop() -> None:
        # Sweep at start too: work left by a previous run is picked up at once.
        while not stopping.is_set():
            try:
                sweep(engine_now(), deadline=time.time() + DRAIN_SLICE_S, hand_off=work, drain=False)
            except Exception:
                log.exception("local sweep failed")
            stopping.wait(sweep_every_s)

    threads = [threading.Thread(target=send_loop, name=f"discord-sender-{i}", daemon=True) for i in range(senders)]
    threads.append(threading.Thread(target=sweep_loop, name="discord-sweeper", daemon=True))
    for thread in threads:
        thread.start()
    log.info("local discord sender started", extra={"senders": senders, "sweep_every_s": sweep_every_s})

    def stop() -> None:
        # Threads are daemons: one still mid-drain is left to finish or die with the process;
        # its claim expires and the next sweep takes over, so shutdown never waits long.
        stopping.set()
        give_up = time.time() + STOP_WAIT_S
        for thread in threads:
            thread.join(timeout=max(give_up - time.time(), 0.0))

    return stop
