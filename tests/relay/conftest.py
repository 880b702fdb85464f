"""Relay fixtures: the fake Massive server (one for the whole run) and relay processes under gunicorn."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from websockets.sync.client import ClientConnection, connect
from websockets.sync.connection import Connection

from shared.auth import mint_token
from tests.conftest import TEST_JWT_SECRET
from tests.fakes.massive import FakeMassive

REPO_ROOT = Path(__file__).resolve().parents[2]
MASSIVE_KEY = "test-massive-key-0123456789"
PROXY_TOKEN = "test-proxy-token-0123456789"
START_TIMEOUT_S = 20.0
# The Redis the cluster tests use: REDIS_URL as `make test` was started with (read before any test
# edits the environment), or the local default. Each test keeps to a key prefix of its own.
TEST_REDIS_URL = os.environ.get("REDIS_URL", "").strip() or "redis://127.0.0.1:6379/0"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def admin_token(ttl_s: int = 3600) -> str:
    return mint_token(TEST_JWT_SECRET, uuid.uuid4(), email="admin@example.com", ttl_s=ttl_s)


@dataclass
class RelayProcess:
    """A relay started as `python -m relay`, as production starts it."""

    port: int
    process: subprocess.Popen[bytes]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, cluster: str, token: str | None = None) -> str:
        query = f"?token={token}" if token else ""
        return f"ws://127.0.0.1:{self.port}/ws/{cluster}{query}"

    def connect(self, cluster: str = "options", token: str | None = "admin", **kw: Any) -> ClientConnection:
        """A real WebSocket client; token 'admin' means a fresh admin JWT, None means no token."""
        chosen = admin_token() if token == "admin" else token
        ws = connect(self.ws_url(cluster, chosen), open_timeout=5, close_timeout=2, **kw)
        greeting = recv_json(ws)
        assert greeting == [{"ev": "status", "status": "connected", "message": "Connected Successfully"}]
        return ws

    def health(self) -> tuple[int, dict[str, Any]]:
        response = requests.get(f"{self.http}/api/ws-health", timeout=5)
        return response.status_code, response.json()

    def cluster(self, name: str) -> dict[str, Any]:
        return self.health()[1]["metrics"][name]

    def wait_health(
        self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 5.0, what: str = ""
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        body: dict[str, Any] = {}
        while time.monotonic() < deadline:
            _, body = self.health()
            if predicate(body):
                return body
            time.sleep(0.05)
        raise AssertionError(f"relay health never showed {what or 'the expected state'}: {json.dumps(body)}")

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        return int(self.process.returncode)


def recv_json(ws: Connection, timeout: float = 5.0) -> Any:
    return json.loads(ws.recv(timeout=timeout))


def recv_until(ws: Connection, predicate: Callable[[Any], bool], timeout: float = 5.0) -> list[Any]:
    """Frames received until one satisfies `predicate` (included); fails after `timeout`."""
    deadline = time.monotonic() + timeout
    seen: list[Any] = []
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"no matching frame within {timeout} s; got {seen}")
        try:
            frame = recv_json(ws, timeout=left)
        except TimeoutError:
            raise AssertionError(f"no matching frame within {timeout} s; got {seen}") from None
        seen.append(frame)
        if predicate(frame):
            return seen


def statuses(frame: Any, kind: str | None = None) -> list[dict[str, Any]]:
    return [e for e in frame if e.get("ev") == "status" and (kind is None or e.get("status") == kind)]


def has_status(kind: str, text: str = "") -> Callable[[Any], bool]:
    return lambda frame: any(text in str(e.get("message", "")) for e in statuses(frame, kind))


def subscribe(ws: Connection, params: str | list[str], expect_acks: int | None = None) -> list[Any]:
    """Subscribe and return the reply frame (one status per channel)."""
    ws.send(json.dumps({"action": "subscribe", "params": params}))
    reply = recv_until(ws, lambda f: bool(statuses(f, "success") or statuses(f, "error")))
    frame = reply[-1]
    if expect_acks is not None:
        assert len(statuses(frame, "success")) == expect_acks, frame
    return frame


@pytest.fixture(scope="session")
def massive_server() -> Iterator[FakeMassive]:
    """One fake Massive for the whole run; its peaks prove the socket rules across every test."""
    server = FakeMassive(MASSIVE_KEY)
    server.start()
    yield server
    server.stop()
    assert server.peak_per_cluster["options"] <= 1, "the relay once held two options sockets"
    assert server.peak_per_cluster["indices"] <= 1, "the relay once held two indices sockets"


@pytest.fixture
def massive(massive_server: FakeMassive) -> Iterator[FakeMassive]:
    massive_server.reset()
    yield massive_server
    massive_server.reset()


StartRelay = Callable[..., RelayProcess]


@pytest.fixture
def start_relay(massive: FakeMassive, tmp_path: Path) -> Iterator[StartRelay]:
    """`start_relay(**env)` → a running relay pointed at the fake Massive; stopped after the test."""
    started: list[RelayProcess] = []

    def _start(**overrides: str | None) -> RelayProcess:
        port = free_port()
        # REDIS_URL too: a relay joins a cluster only when a test asks it to.
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MASSIVE_", "RELAY_", "PORT", "REDIS_URL"))}
        env.update(
            {
                "HONEYDRIP_IGNORE_ENV_FILES": "1",
                "PORT": str(port),
                "RELAY_HOST": "127.0.0.1",
                "MASSIVE_API_KEY": MASSIVE_KEY,
                "MASSIVE_WS_URL": massive.url,
                "MASSIVE_PROXY_TOKEN": PROXY_TOKEN,
                "SUPABASE_JWT_SECRET": TEST_JWT_SECRET,
                "RELAY_IDLE_CLOSE_S": "0.5",
                "LOG_FORMAT": "json",
                "LOG_LEVEL": "INFO",
            }
        )
        for key, value in overrides.items():
            if value is None:
                env.pop(key, None)
            else:
                env[key] = value
        log_path = tmp_path / f"relay-{port}.log"
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [sys.executable, "-m", "relay"], cwd=REPO_ROOT, env=env, stdout=log_file, stderr=log_file
            )
        relay = RelayProcess(port, process, log_path, env)
        started.append(relay)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise AssertionError(f"relay exited with {process.returncode}: {relay.logs()}")
            try:
                if requests.get(f"{relay.http}/api/health", timeout=1).status_code == 200:
                    return relay
            except (requests.ConnectionError, requests.Timeout):
                # Bound but still booting its worker (slow on a loaded machine): not up yet.
                pass
            time.sleep(0.05)
        raise AssertionError(f"relay did not start: {relay.logs()}")

    yield _start
    for relay in started:
        relay.stop()
    for cluster in ("options", "indices"):
        assert massive.peak_per_cluster[cluster] <= 1


@pytest.fixture
def relay(start_relay: StartRelay) -> RelayProcess:
    """A relay with the default test settings."""
    return start_relay()
