"""What a scheduled or queue-driven Lambda reads of its invocation context: the time it has left."""

from __future__ import annotations

from typing import Any

# Outside Lambda (tests, `python -m functions run`) a context has no clock: assume a minute.
DEFAULT_REMAINING_MS = 60_000


def remaining_s(context: Any) -> float:
    """Seconds left before the Lambda times out (a minute when not on Lambda)."""
    getter = getattr(context, "get_remaining_time_in_millis", None)
    return (getter() if callable(getter) else DEFAULT_REMAINING_MS) / 1000.0


def run_budget_s(configured_s: float, context: Any, safety_s: float) -> float:
    """A run's budget: the configured one, cut to what the invocation has left less `safety_s` (1 s at least)."""
    return min(configured_s, max(remaining_s(context) - safety_s, 1.0))
