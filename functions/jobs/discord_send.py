"""The `discord_send` Lambda: drains the channels named by SQS messages (partial batch failures).

A record is reported failed, so SQS delivers it again, when its channel still had work due that
this invocation could not finish or hand on; a malformed record is dropped with a log line, as
retrying it could never succeed.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, ValidationError

from functions.lambda_context import deadline_from, lambda_settings
from shared.delivery.dispatch_queue import ChannelMessage, HandOff, configured_hand_off, follow_up
from shared.delivery.engine import DeliveryEngine
from shared.discord.client import CONNECT_TIMEOUT_S, READ_TIMEOUT_S

log = logging.getLogger(__name__)

# Stop starting requests early enough that one in flight finishes before the function's timeout.
SAFETY_S = CONNECT_TIMEOUT_S + READ_TIMEOUT_S + 2.0
# No more threads than the pool has connections (DB_POOL_MAX_SIZE, 2 by default).
MAX_THREADS = 2


class SqsRecord(BaseModel):
    """The part of an SQS event record we read."""

    model_config = ConfigDict(defer_build=True, extra="ignore")

    messageId: str  # noqa: N815 - AWS's field name
    body: str


class SqsEvent(BaseModel):
    """An SQS event source batch."""

    model_config = ConfigDict(defer_build=True, extra="ignore")

    Records: list[SqsRecord]


def _drain(engine: DeliveryEngine, hand_off: HandOff, channel_id: UUID, deadline: float) -> bool:
    """Drain one channel; True when its due work is done or handed on."""
    result = engine.drain_channel(channel_id, deadline=deadline)
    now = time.time()
    if result.reason == "deadline" and result.next_at is not None and result.next_at <= now:
        return False
    follow_up(hand_off, channel_id, reason=result.reason, next_at=result.next_at, now=now, strict=True)
    return True


def process_batch(
    event: dict[str, Any], *, engine: DeliveryEngine, hand_off: HandOff, deadline: float
) -> dict[str, Any]:
    """Drain every channel in the batch until `deadline`; the records to retry as batchItemFailures."""
    try:
        records = SqsEvent.model_validate(event).Records
    except ValidationError:
        log.error("discord_send got an event that is not an SQS batch")
        return {"batchItemFailures": []}
    by_channel: dict[UUID, list[str]] = {}
    for record in records:
        try:
            channel_id = ChannelMessage.model_validate_json(record.body).channel_id
        except ValidationError:
            log.error("dropping a malformed queue message", extra={"message_id": record.messageId})
            continue
        by_channel.setdefault(channel_id, []).append(record.messageId)

    def one(channel_id: UUID) -> tuple[UUID, bool]:
        try:
            return channel_id, _drain(engine, hand_off, channel_id, deadline)
        except Exception:
            log.exception("draining a channel failed; SQS will retry", extra={"channel_id": str(channel_id)})
            return channel_id, False

    failures: list[dict[str, str]] = []
    if by_channel:
        with ThreadPoolExecutor(max_workers=min(MAX_THREADS, len(by_channel))) as pool:
            for channel_id, done in pool.map(one, list(by_channel)):
                if not done:
                    failures.extend({"itemIdentifier": message_id} for message_id in by_channel[channel_id])
    log.info("discord_send batch", extra={"records": len(records), "failed": len(failures)})
    return {"batchItemFailures": failures}


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (SQS event source with ReportBatchItemFailures)."""
    from shared.delivery.dispatch import default_engine

    lambda_settings()
    return process_batch(
        event, engine=default_engine(), hand_off=configured_hand_off(), deadline=deadline_from(context, SAFETY_S)
    )
