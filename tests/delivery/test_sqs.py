"""The SQS path through moto's server on loopback: hand-off, the discord_send batch, partial failures."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from functions.jobs import discord_send, discord_sweeper
from shared.config import get_settings
from shared.delivery.dispatch import dispatch_after_commit
from shared.delivery.dispatch_queue import ChannelMessage, configured_hand_off, forget_sqs_client, process_sqs_client
from tests.delivery.conftest import AddChannel, Admin, Enqueue, delivery_rows
from tests.fakes.discord import FakeDiscord


@dataclass
class Queue:
    sqs: Any
    url: str

    def receive_batch(self, *, wait_s: int = 5, expect: int = 1) -> dict[str, Any]:
        """Up to 10 messages as the Lambda event source would pass them."""
        messages: list[dict[str, Any]] = []
        deadline = time.time() + wait_s + 1
        while len(messages) < expect and time.time() < deadline:
            answer = self.sqs.receive_message(QueueUrl=self.url, MaxNumberOfMessages=10, WaitTimeSeconds=1)
            messages += answer.get("Messages", [])
        return {
            "Records": [
                {
                    "messageId": m["MessageId"],
                    "receiptHandle": m["ReceiptHandle"],
                    "body": m["Body"],
                    "attributes": {},
                    "messageAttributes": {},
                    "eventSource": "aws:sqs",
                    "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:alerts",
                    "awsRegion": "us-east-1",
                }
                for m in messages
            ]
        }


@dataclass
class LambdaContext:
    remaining_s: float

    def get_remaining_time_in_millis(self) -> int:
        return int(self.remaining_s * 1000)


@pytest.fixture
def queue(fake_discord: FakeDiscord) -> Iterator[Queue]:
    """An SQS queue on a moto server at 127.0.0.1, with ALERT_QUEUE_URL pointing at it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("AWS_ENDPOINT_URL", f"http://{host}:{port}")
            patch.setenv("AWS_ACCESS_KEY_ID", "testing")
            patch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
            patch.setenv("AWS_DEFAULT_REGION", "us-east-1")
            sqs = boto3.client("sqs")
            url = sqs.create_queue(QueueName="alerts")["QueueUrl"]
            patch.setenv("ALERT_QUEUE_URL", url)
            get_settings.cache_clear()
            forget_sqs_client()
            yield Queue(sqs, url)
    finally:
        get_settings.cache_clear()
        forget_sqs_client()
        server.stop()


def test_every_hand_off_in_a_process_reuses_one_sqs_client(queue: Queue) -> None:
    first, second = configured_hand_off(), configured_hand_off()
    first.send(uuid.uuid4())
    client = process_sqs_client()
    second.send(uuid.uuid4())
    assert process_sqs_client() is client
    assert len(queue.receive_batch(expect=2)["Records"]) == 2


def _titles(fake: FakeDiscord, webhook_id: str) -> list[str]:
    return [m.payload["embeds"][0]["title"] for m in fake.messages(webhook_id)]


def test_what_inline_delivery_leaves_goes_on_the_queue_and_discord_send_finishes_it(
    queue: Queue, fake_discord: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, db: Any
) -> None:
    hook = fake_discord.add_webhook()
    channel = add_channel(admin, hook)
    titles = [f"msg {n}" for n in range(7)]
    ids = enqueue(admin, [channel], titles)
    dispatch_after_commit(ids, budget_s=0.3)
    assert [row["status"] for row in delivery_rows(db, ids)] == ["sent"] * 5 + ["pending"] * 2
    event = queue.receive_batch()
    [record] = event["Records"]
    assert ChannelMessage.model_validate_json(record["body"]).channel_id == channel
    assert discord_send.handler(event, LambdaContext(60.0)) == {"batchItemFailures": []}
    assert [row["status"] for row in delivery_rows(db, ids)] == ["sent"] * 7
    assert _titles(fake_discord, hook.id) == titles
    assert fake_discord.count_429() == 0


def test_a_batch_reports_only_the_record_it_could_not_finish_and_the_sweeper_does(
    queue: Queue, fake_discord: FakeDiscord, admin: Admin, add_channel: AddChannel, enqueue: Enqueue, db: Any
) -> None:
    quick, slow = fake_discord.add_webhook(), fake_discord.add_webhook()
    quick_channel, slow_channel = add_channel(admin, quick), add_channel(admin, slow)
    quick_ids = enqueue(admin, [quick_channel], ["quick"])
    slow_ids = enqueue(admin, [slow_channel], ["slow 1", "slow 2", "slow 3"])
    fake_discord.slow_next(slow.id, 1.2)
    for channel in (quick_channel, slow_channel):
        queue.sqs.send_message(QueueUrl=queue.url, MessageBody=ChannelMessage(channel_id=channel).model_dump_json())
    queue.sqs.send_message(QueueUrl=queue.url, MessageBody='{"not": "a channel"}')
    event = queue.receive_batch(expect=3)
    assert len(event["Records"]) == 3
    slow_message = next(r["messageId"] for r in event["Records"] if str(slow_channel) in r["body"])
    answer = discord_send.handler(event, LambdaContext(discord_send.SAFETY_S + 1.0))
    assert answer == {"batchItemFailures": [{"itemIdentifier": slow_message}]}
    assert [row["status"] for row in delivery_rows(db, quick_ids)] == ["sent"]
    assert [row["status"] for row in delivery_rows(db, slow_ids)] == ["sent", "pending", "pending"]
    assert discord_sweeper.handler({}, LambdaContext(60.0)) == {"channels": 1, "sent": 2}
    assert _titles(fake_discord, slow.id) == ["slow 1", "slow 2", "slow 3"]
