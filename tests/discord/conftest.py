"""Fixtures for the Discord API tests: the fake Discord, and channels as the delivery tests add them."""

from __future__ import annotations

from tests.delivery.conftest import add_channel, enqueue
from tests.fakes.discord import fake_discord

__all__ = ["add_channel", "enqueue", "fake_discord"]
