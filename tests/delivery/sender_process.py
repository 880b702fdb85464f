"""A delivery sender in its own process, for the test that kills one mid-batch.

`python -m tests.delivery.sender_process <channel id> <lease seconds>` drains the channel against
DISCORD_API_BASE with the tests' fast limits, printing a line after each message it posts.
"""

from __future__ import annotations

import sys
import time
import uuid

from shared.config import get_settings
from shared.delivery.engine import DeliveryEngine
from shared.discord.client import DiscordClient
from tests.delivery.conftest import FAST_POLICY


def main() -> None:
    channel_id, lease_s = uuid.UUID(sys.argv[1]), float(sys.argv[2])
    engine = DeliveryEngine(DiscordClient(str(get_settings().discord_api_base)), policy=FAST_POLICY, lease_s=lease_s)
    print("ready", flush=True)
    engine.drain_channel(channel_id, deadline=time.time() + 60)


if __name__ == "__main__":
    main()
