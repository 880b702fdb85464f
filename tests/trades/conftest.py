"""Fixtures for the trades and alerts API tests: admins, a fixed clock, channels on the fake Discord."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient

from functions.api.trades.routes import CLOCK_KEY
from tests.conftest import Admin
from tests.delivery.conftest import insert_channel
from tests.fakes.discord import FakeDiscord, FakeWebhook, fake_discord
from tests.fakes.massive_rest import FakeMassiveRest, option_contract

__all__ = ["Admin", "fake_discord"]

NOW = datetime(2025, 12, 5, 15, 30, tzinfo=UTC)
SPY_CONTRACT = {"symbol": "O:SPY251219C00650000", "strike": 650, "expiry": "2025-12-19", "type": "call"}


@dataclass
class Clock:
    """The app's clock in these tests: still unless a test moves it."""

    at: datetime = NOW

    def __call__(self) -> datetime:
        return self.at

    def advance(self, seconds: float = 1.0) -> None:
        self.at += timedelta(seconds=seconds)


@dataclass
class Api:
    """The Flask test client, speaking as one admin."""

    client: FlaskClient
    admin: Admin
    extra_headers: dict[str, str] = field(default_factory=dict)

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {**self.admin.headers, **self.extra_headers, **(headers or {})}

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.client.post(path, json=body, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Any:
        return self.client.patch(path, json=body, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, path: str, **kw: Any) -> Any:
        return self.client.delete(path, headers=self._headers(kw.pop("headers", None)), **kw)

    def as_admin(self, admin: Admin) -> Api:
        return Api(self.client, admin)

    def load(self, **overrides: Any) -> dict[str, Any]:
        """A loaded SPY 650 call (current $1.20); the trade as returned."""
        response = self.post("/api/trades", load_body(**overrides))
        assert response.status_code == 201, response.get_json()
        trade: dict[str, Any] = response.get_json()["trade"]
        return trade

    def enter(self, **overrides: Any) -> dict[str, Any]:
        """An entered SPY 650 call at $1.20."""
        response = self.post("/api/trades", load_body(action="enter", entry_price="1.20", **overrides))
        assert response.status_code == 201, response.get_json()
        trade: dict[str, Any] = response.get_json()["trade"]
        return trade

    def act(self, trade_id: str, action: str, **body: Any) -> Any:
        return self.post(f"/api/trades/{trade_id}/actions", {"action": action, **body})


def load_body(**overrides: Any) -> dict[str, Any]:
    """A valid `POST /api/trades` body loading a SPY 650 call."""
    body: dict[str, Any] = {"ticker": "SPY", "contract": dict(SPY_CONTRACT), "action": "load", "current_price": "1.20"}
    body.update(overrides)
    return body


SPY_EXPIRY = date(2025, 12, 19)


@pytest.fixture
def quoted(massive_env: FakeMassiveRest) -> FakeMassiveRest:
    """The fake Massive quoting SPY_CONTRACT 1.15 × 1.20 (SPY at 647.30), and a 660 call with no quote."""
    call = option_contract("SPY", SPY_EXPIRY, "call", 650.0, spot=647.3, iv=0.2, gamma=0.03, open_interest=900.0)
    call["last_quote"] = {"bid": 1.15, "ask": 1.2, "midpoint": 1.175, "timeframe": "REAL-TIME"}
    bare = option_contract("SPY", SPY_EXPIRY, "call", 660.0, spot=647.3, iv=0.2, gamma=0.01, open_interest=10.0)
    bare["last_quote"] = {"bid": 0.0, "ask": 0.0, "timeframe": "REAL-TIME"}
    massive_env.chains["SPY"] = [call, bare]
    return massive_env


@pytest.fixture
def clock(app: Flask) -> Clock:
    clock = Clock()
    app.config[CLOCK_KEY] = clock
    return clock


@pytest.fixture
def api(client: FlaskClient, admin: Admin, clock: Clock) -> Api:
    return Api(client, admin)


@pytest.fixture
def other_api(client: FlaskClient, other_admin: Admin, clock: Clock) -> Api:
    return Api(client, other_admin)


AddChannel = Callable[..., uuid.UUID]


@pytest.fixture
def add_channel(db: psycopg.Connection[Any], fake_discord: FakeDiscord) -> Iterator[AddChannel]:
    """`add_channel(admin, name=..., default_for=[...], is_global_default=False, active=True)` → channel id,
    backed by a new webhook on the fake Discord (`add_channel.hooks[channel_id]`)."""
    hooks: dict[uuid.UUID, FakeWebhook] = {}

    def _add(
        owner: Admin,
        *,
        name: str | None = None,
        default_for: list[str] | None = None,
        is_global_default: bool = False,
        active: bool = True,
    ) -> uuid.UUID:
        hook = fake_discord.add_webhook()
        channel = insert_channel(
            owner, hook, name=name, default_for=default_for, is_global_default=is_global_default, active=active
        )
        hooks[channel] = hook
        return channel

    _add.hooks = hooks  # type: ignore[attr-defined]
    yield _add
