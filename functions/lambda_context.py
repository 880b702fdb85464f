"""How a Lambda entry point starts (settings, logging) and what it reads of its invocation: the time left."""

from __future__ import annotations

import time
from typing import Any

from shared.config import Settings, settings_or_exit
from shared.logs import configure_logging

# Outside Lambda (tests, `python -m functions run`) a context has no clock: assume a minute.
DEFAULT_REMAINING_MS = 60_000


def lambda_settings() -> Settings:
    """The settings (a clear exit when they are invalid), with logging set up from them."""
    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    return settings


def remaining_s(context: Any) -> float:
    """Seconds left before the Lambda times out (a minute when not on Lambda)."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    return (getter() if callable(getter) else DEFAULT_REMAINING_MS) / 1000.0


def run_budget_s(configured_s: float, context: Any, safety_s: float) -> float:
    """A run's budget: the configured one, cut to what the invocation has left less `safety_s` (1 s at least)."""
    return min(configured_s, max(remaining_s(context) - safety_s, 1.0))


def deadline_from(context: Any, safety_s: float) -> float:
    """The `time.time()` by which work must stop: what the invocation has left less `safety_s` (now at the latest)."""
    return time.time() + max(remaining_s(context) - safety_s, 0.0)
