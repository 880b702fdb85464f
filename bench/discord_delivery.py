"""Discord delivery: throughput to 10 channels at Discord's limits, and commit-to-sent latency.

    .venv/bin/python bench/discord_delivery.py [--admin-url postgresql://postgres@127.0.0.1:5432/test]
                                               [--seconds 120] [--channels 10] [--senders 2]

It creates a scratch database on the server of `--admin-url` (default: DATABASE_URL, else the
local PG on 127.0.0.1:5432), starts the fake Discord of tests/fakes on 127.0.0.1 with Discord's
own limits (5 requests per 2 s per webhook, 30 per minute per channel), and measures:

1. Throughput: a backlog on `--channels` channels drained by the local sender (`--senders`
   threads, as `python -m functions serve` runs it) for `--seconds`; messages the fake accepted
   per minute, as a share of the most those limits allow (30 per channel per minute).
2. Latency: one message at a time to idle channels, from the commit of its delivery row to
   Discord's acceptance, through `dispatch_after_commit` (the request handlers' path).

It prints a Markdown report and drops the database.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import psycopg  # noqa: E402

from tests.scratch_database import scratch_database  # noqa: E402

LATENCY_SAMPLES = 60


def machine() -> str:
    """nproc, CPU model, memory and Python version, one line."""
    cpu = "unknown CPU"
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout.splitlines():
            if line.startswith("Model name"):
                cpu = line.split(":", 1)[1].strip()
    except OSError:
        pass
    memory = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.0f} GB"
    except OSError:
        pass
    return f"{os.cpu_count()} cores ({cpu}), {memory} RAM, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--admin-url", default=os.environ.get("DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    )
    parser.add_argument("--seconds", type=float, default=120.0)
    parser.add_argument("--channels", type=int, default=10)
    parser.add_argument("--senders", type=int, default=2)
    args = parser.parse_args()

    with scratch_database(args.admin_url, "hd_bench") as url:
        try:
            return run(url, args)
        finally:
            from shared.db import reset_for_tests

            reset_for_tests()


def run(url: str, args: argparse.Namespace) -> int:
    from shared.db.migrations import migrate
    from shared.logs import configure_logging
    from tests.fakes.discord import FakeDiscord

    configure_logging("WARNING", "text")

    with psycopg.connect(url) as conn:
        migrate(conn)
    with FakeDiscord() as fake:
        os.environ["DATABASE_URL"] = url
        os.environ["DISCORD_API_BASE"] = fake.api_base
        os.environ.pop("ALERT_QUEUE_URL", None)
        os.environ["HONEYDRIP_IGNORE_ENV_FILES"] = "1"
        from shared.config import get_settings

        get_settings.cache_clear()
        throughput = measure_throughput(fake, args.channels, args.seconds, args.senders)
        latency = measure_latency(fake)
    report(args, throughput, latency)
    return 0


def most_allowed(seconds: float) -> int:
    """The most messages one channel may post in `seconds` from its first: sending each as early as
    5 per 2 s and 30 per minute allow (greedy is optimal for sliding-window limits)."""
    from shared.discord.ratelimit import DISCORD_POLICY

    limits = (DISCORD_POLICY.webhook, DISCORD_POLICY.channel)
    times: list[float] = []
    while True:
        at = max(
            [times[-1] if times else 0.0]
            + [times[-w.limit] + w.window_s for w in limits if len(times) >= w.limit]
        )
        if at >= seconds:
            return len(times)
        times.append(at)


def _user() -> Any:
    from shared.auth import VerifiedToken

    user_id = uuid.uuid4()
    expires = time.time() + 3600
    claims = {"sub": str(user_id), "role": "authenticated", "aud": "authenticated", "exp": expires,
              "app_metadata": {"role": "admin"}}
    return VerifiedToken(user_id=user_id, expires_at=expires, claims=claims)


def _channel(user: Any, hook: Any, name: str) -> uuid.UUID:
    from shared.db import user_tx

    with user_tx(user) as conn:
        row = conn.execute(
            "insert into discord_channels (name, webhook_id, webhook_token, guild_id, discord_channel_id)"
            " values (%s, %s, %s, %s, %s) returning id",
            (name, hook.id, hook.token, hook.guild_id, hook.channel_id),
        ).fetchone()
    assert row is not None
    channel_id: uuid.UUID = row["id"]
    return channel_id


def _payload(text: str) -> dict[str, Any]:
    return {
        "embeds": [
            {
                "title": f"🚀 ENTERED: SPY {text}",
                "color": 0x2ECC71,
                "fields": [{"name": "Entry", "value": "$1.20 | SPY @ 652.50", "inline": True}],
                "footer": {"text": "Honey Drip • enter"},
            }
        ]
    }


def _enqueue(user: Any, channels: list[uuid.UUID], text: str) -> list[uuid.UUID]:
    from shared.db import user_tx
    from shared.delivery.outbox import enqueue_deliveries

    with user_tx(user) as conn:
        return enqueue_deliveries(conn, user_id=user.user_id, channel_ids=channels, payload=_payload(text))


def measure_throughput(fake: Any, channels: int, seconds: float, senders: int) -> dict[str, Any]:
    from shared.db import service_tx
    from shared.delivery.dispatch import default_engine
    from shared.delivery.dispatch_queue import LocalQueue
    from shared.discord.ratelimit import theoretical_max_per_minute
    from shared.local.delivery_worker import start_local_worker

    user = _user()
    hooks = [fake.add_webhook() for _ in range(channels)]
    channel_ids = [_channel(user, hook, f"bench {i}") for i, hook in enumerate(hooks)]
    # More than the limits allow in the window, so the senders never run dry.
    backlog = int(30 * (seconds / 60 + 1)) + 5
    for n in range(backlog):
        _enqueue(user, channel_ids, f"#{n}")
    queue = LocalQueue()
    # The sweeper runs once, at the start, and not again within the run: whatever a failure leaves
    # must be taken up by the senders themselves, as it must be in a live process.
    stop = start_local_worker(engine=default_engine(), queue=queue, senders=senders, sweep_every_s=3600)
    started = time.time()
    for channel_id in channel_ids:
        queue.send(channel_id)
    time.sleep(seconds + 0.5)
    stop()
    accepted = fake.messages()
    first = min(m.at for m in accepted)
    in_window = [m for m in accepted if m.at < first + seconds]
    per_minute = len(in_window) * 60 / seconds
    most = channels * most_allowed(seconds)
    ceiling = theoretical_max_per_minute(channels)
    in_order = all(
        [m.payload["embeds"][0]["title"] for m in fake.messages(hook.id)]
        == [f"🚀 ENTERED: SPY #{n}" for n in range(len(fake.messages(hook.id)))]
        for hook in hooks
    )
    per_channel = sorted(sum(1 for m in in_window if m.webhook_id == hook.id) for hook in hooks)
    with service_tx() as conn:
        # A shortfall shows here: a delivery given up on, or a channel deactivated (401/404).
        dead = conn.execute(
            "select count(*) as n from alert_deliveries where channel_id = any(%s) and status = 'dead'",
            (channel_ids,),
        ).fetchone()
        inactive = conn.execute(
            "select count(*) as n from discord_channels where id = any(%s) and not is_active", (channel_ids,)
        ).fetchone()
    return {
        "dead": dead["n"] if dead else 0,
        "deactivated": inactive["n"] if inactive else 0,
        "per_channel": per_channel,
        "channels": channels,
        "senders": senders,
        "seconds": seconds,
        "delivered": len(in_window),
        "per_minute": per_minute,
        "ceiling": ceiling,
        "most": most,
        "share": len(in_window) / most,
        "rate_limited": fake.count_429(),
        "in_order": in_order,
        "startup_s": first - started,
    }


def measure_latency(fake: Any) -> dict[str, Any]:
    from shared.db import service_tx
    from shared.delivery.dispatch import dispatch_after_commit

    user = _user()
    idle = [_channel(user, fake.add_webhook(), f"idle {i}") for i in range(20)]
    samples_ms: list[float] = []
    recorded_ms: list[float] = []
    for n in range(LATENCY_SAMPLES + 5):
        channel = idle[n % len(idle)]
        [delivery] = _enqueue(user, [channel], f"latency {n}")
        committed = time.time()
        dispatch_after_commit([delivery])
        returned = time.time()
        with service_tx() as conn:
            row = conn.execute(
                "select status, extract(epoch from sent_at)::float8 as sent from alert_deliveries where id = %s",
                (delivery,),
            ).fetchone()
        assert row is not None and row["status"] == "sent", row
        accepted = next(m.at for m in fake.messages() if m.payload["embeds"][0]["title"].endswith(f"latency {n}"))
        if n >= 5:  # the first few warm the connection pools
            samples_ms.append((accepted - committed) * 1000)
            recorded_ms.append((returned - committed) * 1000)
        time.sleep(0.45)  # keep every channel idle: 20 channels, one message each per 9 s
    cuts = statistics.quantiles(samples_ms, n=100, method="inclusive")
    recorded_cuts = statistics.quantiles(recorded_ms, n=100, method="inclusive")
    return {
        "samples": len(samples_ms),
        "median_ms": statistics.median(samples_ms),
        "p95_ms": cuts[94],
        "recorded_median_ms": statistics.median(recorded_ms),
        "recorded_p95_ms": recorded_cuts[94],
    }


def report(args: argparse.Namespace, throughput: dict[str, Any], latency: dict[str, Any]) -> None:
    print(f"Machine: {machine()}; PostgreSQL at `{args.admin_url.split('@')[-1]}`; fake Discord on 127.0.0.1.")
    print()
    print("| Measure | Result |")
    print("|---|---|")
    print(
        f"| Throughput, {throughput['channels']} channels, {throughput['senders']} sender threads,"
        f" {throughput['seconds']:.0f} s | {throughput['delivered']} of the {throughput['most']} the limits allow"
        f" = **{throughput['share'] * 100:.1f} %** ({throughput['per_minute']:.1f}/min;"
        f" steady-state ceiling {throughput['ceiling']:.0f}/min) |"
    )
    print(f"| 429 answers from the fake | {throughput['rate_limited']} |")
    print(f"| Messages per channel in the window (sorted) | {throughput['per_channel']} |")
    print(f"| Order per channel kept | {'yes' if throughput['in_order'] else 'NO'} |")
    print(
        f"| Deliveries `dead` / channels deactivated at the end | {throughput['dead']} /"
        f" {throughput['deactivated']} |"
    )
    print(
        f"| Commit → accepted by Discord, idle channel ({latency['samples']} messages, inline) |"
        f" median **{latency['median_ms']:.1f} ms**, p95 {latency['p95_ms']:.1f} ms |"
    )
    print(
        f"| Commit → row `sent` with the message id (dispatch_after_commit returned) |"
        f" median {latency['recorded_median_ms']:.1f} ms, p95 {latency['recorded_p95_ms']:.1f} ms |"
    )


if __name__ == "__main__":
    raise SystemExit(main())
