"""`make dev`: the whole stack on one laptop, on embedded defaults, stopped cleanly by Ctrl-C.

Runs the functions' HTTP API and the relay as child processes. With no DATABASE_URL the API
starts the embedded Postgres; with no MASSIVE_API_KEY the relay streams from its simulator and a
Massive REST simulator (shared/local/massive_simulator.py) serves the jobs, which are scheduled against it;
with no Discord webhook configured, channels can point at nothing real and the local sender
still runs in-process, and so do the scheduled jobs (`serve --jobs`). A local JWT secret is
generated once into `.local/dev.env`.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import requests

from shared.config import settings_or_exit

REPO_ROOT = Path(__file__).resolve().parents[2]
DEV_ENV = REPO_ROOT / ".local" / "dev.env"
DEV_USER = uuid.UUID("00000000-0000-4000-8000-00000000d0d0")
STARTUP_TIMEOUT_S = 60.0
# Long enough for the API to stop its embedded Postgres; a kill after it would orphan that server.
STOP_TIMEOUT_S = 30.0
# Every part listens here only: a laptop's stack is not for the network it sits on.
DEV_HOST = "127.0.0.1"


@dataclass(frozen=True)
class DevPorts:
    """The stack's ports; overridable so a second stack (or the test of this one) can run beside the first."""

    api: int = 8000
    relay: int = 8080
    discord_sink: int = 8090
    massive: int = 8070

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> DevPorts:
        """DEV_API_PORT, DEV_RELAY_PORT, DEV_DISCORD_SINK_PORT; a bad one exits with one line naming it."""
        chosen: dict[str, int] = {}
        for field, variable in PORT_VARIABLES.items():
            text = environ.get(variable, "").strip()
            if not text:
                continue
            if not text.isdigit() or not 0 < int(text) < 65536:
                raise SystemExit(f"devstack: {variable}={text!r}: must be a port number (1-65535)")
            chosen[field] = int(text)
        ports = cls(**chosen)
        if len({ports.api, ports.relay, ports.discord_sink, ports.massive}) < 4:
            raise SystemExit(f"devstack: {', '.join(PORT_VARIABLES.values())} must be different ports")
        return ports


PORT_VARIABLES = {
    "api": "DEV_API_PORT", "relay": "DEV_RELAY_PORT", "discord_sink": "DEV_DISCORD_SINK_PORT",
    "massive": "DEV_MASSIVE_PORT",
}


def busy_ports(ports: DevPorts) -> list[str]:
    """The ports something already listens on (another `make dev`?), each named with its variable."""
    busy = []
    for field, variable in PORT_VARIABLES.items():
        if field == "massive" and not simulates_massive():
            continue
        port = getattr(ports, field)
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((DEV_HOST, port))
            except OSError:
                busy.append(f"{port} ({variable})")
    return busy


@dataclass
class Part:
    name: str
    command: list[str]
    env: dict[str, str]
    health_url: str
    process: subprocess.Popen[bytes] | None = None


def ensure_local_secret() -> None:
    """Generate a local SUPABASE_JWT_SECRET into `.local/dev.env` unless one is configured."""
    # Tests read no env files: a secret written there would never be read back.
    if settings_or_exit().supabase_jwt_secret is not None or os.environ.get("HONEYDRIP_IGNORE_ENV_FILES"):
        return
    DEV_ENV.parent.mkdir(parents=True, exist_ok=True)
    with DEV_ENV.open("a", encoding="utf-8") as env_file:
        env_file.write(f"SUPABASE_JWT_SECRET={secrets.token_urlsafe(48)}\n")
    DEV_ENV.chmod(0o600)
    from shared.config import get_settings

    get_settings.cache_clear()


def simulates_massive() -> bool:
    """No MASSIVE_API_KEY (unset or empty): the relay and the jobs use the simulators."""
    return settings_or_exit().massive_api_key is None


def uses_console_sink() -> bool:
    """True unless DISCORD_API_BASE is set (in the environment or .env): then alerts go there."""
    return "discord_api_base" not in settings_or_exit().model_fields_set


def parts(ports: DevPorts) -> list[Part]:
    """The processes `make dev` runs."""
    base = {**os.environ, "LOG_FORMAT": os.environ.get("LOG_FORMAT", "text")}
    stack: list[Part] = []
    api_env = {**base, "PORT": str(ports.api)}
    if simulates_massive():
        massive = f"http://{DEV_HOST}:{ports.massive}"
        stack.append(
            Part(
                "massive-simulator",
                [sys.executable, "-m", "shared.local.massive_simulator", "--host", DEV_HOST,
                 "--port", str(ports.massive)],
                base,
                f"{massive}/health",
            )
        )
        # The jobs (scheduled in the API process) read bars, chains and index values from it.
        api_env["MASSIVE_REST_URL"] = massive
    if uses_console_sink():
        sink = f"http://127.0.0.1:{ports.discord_sink}"
        stack.append(
            Part(
                "discord-sink",
                [sys.executable, "-m", "shared.local.console_sink", "--host", DEV_HOST,
                 "--port", str(ports.discord_sink)],
                base,
                # The sink answers Discord's validation GET for any numeric webhook id.
                f"{sink}/api/webhooks/1/health",
            )
        )
        api_env["DISCORD_API_BASE"] = f"{sink}/api"
    stack.append(
        Part(
            "api",
            # --jobs: the scheduled jobs run in the API process, beside the local Discord sender.
            [sys.executable, "-m", "functions", "serve", "--host", DEV_HOST, "--port", str(ports.api), "--jobs"],
            api_env,
            f"http://127.0.0.1:{ports.api}/api/health",
        )
    )
    if (REPO_ROOT / "relay" / "__main__.py").exists():
        stack.append(
            Part(
                "relay",
                [sys.executable, "-m", "relay"],
                # A browser page on any local port may connect (a deployed relay lists its origins).
                {**base, "PORT": str(ports.relay), "RELAY_HOST": DEV_HOST, "RELAY_ALLOW_LOCAL_ORIGINS": "1"},
                f"http://127.0.0.1:{ports.relay}/api/health",
            )
        )
    return stack


def wait_healthy(part: Part, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if part.process is not None and part.process.poll() is not None:
            return False
        try:
            if requests.get(part.health_url, timeout=2).status_code < 500:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.3)
    return False


def stop(stack: list[Part]) -> None:
    running = [p for p in stack if p.process is not None and p.process.poll() is None]
    for part in running:
        assert part.process is not None
        part.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + STOP_TIMEOUT_S
    for part in running:
        assert part.process is not None
        try:
            part.process.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            part.process.kill()
            part.process.wait()


def banner(stack: list[Part], ports: DevPorts) -> str:
    settings = settings_or_exit()
    lines = ["", "Honey Drip is running:"]
    lines.append(f"  API     http://127.0.0.1:{ports.api}   (every route, and a form to try it: /api/docs)")
    if any(p.name == "relay" for p in stack):
        source = "Massive" if settings.massive_api_key and not settings.relay_simulate else "the built-in simulator"
        lines.append(f"  relay   ws://127.0.0.1:{ports.relay}/ws/options, /ws/indices   (data from {source})")
        lines.append(f"          http://127.0.0.1:{ports.relay}/   (status page; JSON at /api/ws-health)")
    if any(p.name == "discord-sink" for p in stack):
        lines.append(
            f"  discord  alerts print here (console sink on :{ports.discord_sink}); any webhook URL of the form"
        )
        lines.append("           https://discord.com/api/webhooks/<17-20 digits>/<token> is accepted")
    else:
        lines.append(f"  discord  {settings.discord_api_base}")
    database = "DATABASE_URL" if settings.database_url else "embedded Postgres in .local/pgdata"
    lines.append(f"  database {database}")
    if any(p.name == "massive-simulator" for p in stack):
        lines.append(f"  massive  REST simulator on :{ports.massive} (no MASSIVE_API_KEY); the jobs read it")
    else:
        lines.append(f"  massive  {settings.massive_rest_url} (MASSIVE_API_KEY)")
    lines.append("  jobs     scheduled in the API: ingest, scanner, gamma in market hours and after the close;")
    lines.append("           prewarm weekly. Now: .venv/bin/python -m functions run ingest --force --symbols SPY")
    lines += [
        "",
        "An admin token (signed with the local secret in .local/dev.env; any --user UUID is a new admin):",
        f"  export TOKEN=$(.venv/bin/python -m functions token --user {DEV_USER} --email dev@localhost)",
        f'  curl -H "Authorization: Bearer $TOKEN" http://127.0.0.1:{ports.api}/api/watchlist',
        "Then type {\"action\":\"subscribe\",\"params\":\"V.SPX\"} into the relay (websockets' own client):",
        f'  .venv/bin/python -m websockets "ws://127.0.0.1:{ports.relay}/ws/indices?token=$TOKEN"',
        "",
        "Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    os.chdir(REPO_ROOT)
    ports = DevPorts.from_environ(os.environ)
    busy = busy_ports(ports)
    if busy:
        print(f"devstack: port {', '.join(busy)} already in use (another `make dev`?); stop it or pick other ports",
              file=sys.stderr)
        return 2
    ensure_local_secret()
    stack = parts(ports)
    stopping = False

    def _interrupt(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        for part in stack:
            # A session of its own: the terminal's Ctrl-C reaches only this process, which then sends
            # each part one SIGTERM. Two signals at once (the group's SIGINT, then our SIGTERM) used to
            # interrupt the API's clean-up and orphan its embedded Postgres.
            part.process = subprocess.Popen(  # noqa: S603
                part.command, env=part.env, cwd=REPO_ROOT, start_new_session=True
            )
        for part in stack:
            if not wait_healthy(part, deadline):
                print(f"devstack: {part.name} did not start; see its log above", file=sys.stderr)
                return 1
        print(banner(stack, ports), flush=True)
        while not stopping:
            for part in stack:
                assert part.process is not None
                if part.process.poll() is not None:
                    print(f"devstack: {part.name} exited with {part.process.returncode}", file=sys.stderr)
                    return 1
            time.sleep(0.5)
        return 0
    finally:
        stop(stack)
        print("devstack: stopped", file=sys.stderr)


if __name__ == "__main__":
    raise SystemExit(main())
