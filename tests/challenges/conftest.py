"""The challenges API tests use the trades tests' fixtures (the app clock, API clients, fake Discord channels)."""

from __future__ import annotations

from tests.trades.conftest import add_channel, api, clock, fake_discord, other_api

__all__ = ["add_channel", "api", "clock", "fake_discord", "other_api"]
