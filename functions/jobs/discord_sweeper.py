"""The `discord_sweeper` Lambda (every minute): delivers whatever is past its time.

It is what makes a lost queue message or a crashed sender lose nothing.
"""

from __future__ import annotations

from typing import Any

from functions.jobs.discord_send import SAFETY_S
from functions.lambda_context import deadline_from, lambda_settings


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (EventBridge schedule)."""
    from shared.delivery.dispatch import default_engine
    from shared.delivery.dispatch_queue import configured_hand_off
    from shared.delivery.sweeper import sweep

    lambda_settings()
    report = sweep(default_engine(), deadline=deadline_from(context, SAFETY_S), hand_off=configured_hand_off())
    return {"channels": report.channels, "sent": report.sent}
