"""The `discord_sweeper` Lambda (every minute): delivers whatever is past its time.

It is what makes a lost queue message or a crashed sender lose nothing.
"""

from __future__ import annotations

import time
from typing import Any

from functions.discord_send import SAFETY_S
from functions.lambda_context import remaining_s


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda entry point (EventBridge schedule)."""
    from shared.config import settings_or_exit
    from shared.discord.dispatch import default_engine
    from shared.discord.handoff import configured_hand_off
    from shared.discord.sweeper import sweep
    from shared.logs import configure_logging

    settings = settings_or_exit()
    configure_logging(settings.log_level, settings.log_format)
    deadline = time.time() + max(remaining_s(context) - SAFETY_S, 0.0)
    report = sweep(default_engine(), deadline=deadline, hand_off=configured_hand_off())
    return {"channels": report.channels, "sent": report.sent}
