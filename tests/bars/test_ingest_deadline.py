"""Ingest against a hostile Massive: a fetch held to the run's end fails the run saying so, costing no attempt."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from shared.bars.ingest import Ingestor
from shared.jobs import PartialFailure
from shared.massive.rest import MassiveRest
from tests.bars.test_ingest import NOW, queue_row, seed, watch
from tests.fakes.hostile_massive import HostileMassiveRest, HostileMassiveServer


@pytest.fixture
def hostile() -> Iterator[HostileMassiveRest]:
    with HostileMassiveServer() as server:
        yield server.fake


def test_retry_after_zero_forever_ends_the_run_at_its_deadline_failed_and_requeues_the_symbol(
    settings: Any, db: psycopg.Connection[Any], hostile: HostileMassiveRest
) -> None:
    seed(hostile, "SPY")
    watch(db, "SPY")
    hostile.retry_after = "0"
    hostile.fail_next(429, times=10_000)
    deadline = time.monotonic() + 3.0
    client = MassiveRest(hostile.url, "test-key", deadline=deadline)  # real waits: 2 s, then 4 s would pass it
    started = time.monotonic()
    try:
        with pytest.raises(PartialFailure, match="SPY: out of time for 1 minute aggregates of SPY"):
            Ingestor(client, deadline=deadline, now=lambda: NOW, margin_s=0.0).run()
    finally:
        client.close()
    assert time.monotonic() - started < 3.5
    assert len(hostile.requests_to("/v2/aggs/")) == 2  # not hundreds at full speed
    # Back in the queue with its attempt returned: our clock ran out, the symbol did not fail.
    assert queue_row(db, "SPY") == {"status": "queued", "attempts": 0, "last_error": None}
