"""`make dev`: the stack starts on embedded defaults, answers, and stops cleanly on Ctrl-C."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from tests.conftest import repo_path


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_make_dev_runs_the_stack_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    api_port, relay_port = free_port(), free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MASSIVE_API_KEY", "ALERT_QUEUE_URL")},
        "DEV_API_PORT": str(api_port),
        "DEV_RELAY_PORT": str(relay_port),
        "HONEYDRIP_PGDATA": str(tmp_path / "pgdata"),
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "shared.devstack"],
        cwd=repo_path(),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    output: list[str] = []
    try:
        assert process.stdout is not None
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = process.stdout.readline()
            if not line:
                break
            output.append(line)
            if "Ctrl-C stops everything" in line:
                break
        banner = "".join(output)
        assert f"http://127.0.0.1:{api_port}" in banner, banner
        assert "python -m functions token" in banner
        health = requests.get(f"http://127.0.0.1:{api_port}/api/health", timeout=10)
        assert health.status_code == 200
        assert health.json()["checks"]["database"]["ok"] is True
        if (repo_path("relay", "__main__.py")).exists():
            assert f"ws://127.0.0.1:{relay_port}/ws/options" in banner
            assert requests.get(f"http://127.0.0.1:{relay_port}/api/health", timeout=10).status_code == 200
        process.send_signal(signal.SIGINT)
        rest, _ = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, rest
    assert "devstack: stopped" in rest
    for port in (api_port, relay_port):
        with socket.socket() as sock:
            assert sock.connect_ex(("127.0.0.1", port)) != 0, f"port {port} still served after Ctrl-C"
