"""The alerts API tests use the trades tests' fixtures (admins, the app clock, fake Discord channels)."""

from __future__ import annotations

from tests.trades.conftest import add_channel, admin, api, clock, fake_discord, other_admin, other_api

__all__ = ["add_channel", "admin", "api", "clock", "fake_discord", "other_admin", "other_api"]
