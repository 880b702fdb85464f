"""Fixtures for the jobs that call Massive: the fake Massive REST server and a client pointed at it.

`tests/conftest.py` imports them, so every suite can use them.
"""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from shared.config import get_settings
from shared.massive.rest import MassiveRest, RateLimitBudget, RetryPolicy
from tests.fakes.massive_rest import FakeMassiveRest, FakeMassiveRestServer


class Sleeps(list[float]):
    """Stands in for time.sleep: records each wait instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def massive() -> Iterator[FakeMassiveRest]:
    with FakeMassiveRestServer() as server:
        yield server.fake


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def rest(massive: FakeMassiveRest, sleeps: Sleeps) -> Iterator[MassiveRest]:
    client = MassiveRest(
        massive.url,
        "test-key",
        retry=RetryPolicy(budget=RateLimitBudget(120.0)),
        sleep=sleeps,
        rng=random.Random(7),
        timeout=(2.0, 2.0),
    )
    yield client
    client.close()


@pytest.fixture
def massive_env(massive: FakeMassiveRest, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMassiveRest]:
    """MASSIVE_REST_URL and MASSIVE_API_KEY pointing the process's settings at the fake."""
    monkeypatch.setenv("MASSIVE_REST_URL", massive.url)
    monkeypatch.setenv("MASSIVE_API_KEY", "test-key")
    get_settings.cache_clear()
    yield massive
    get_settings.cache_clear()
