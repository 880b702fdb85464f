"""A fake Discord webhook API over real HTTP on 127.0.0.1, from the team's docs/reference/discord.md.

It answers `GET` and `POST` on `/api/v10/webhooks/<id>/<token>` like Discord's v10 does: the webhook
object, `?wait=true` message objects, 404 code 10015 for a deleted webhook, 401 code 50027 for a
wrong token, 400 code 50035 for a body over the embed limits. It enforces 5 requests per 2 s per
webhook (a bucket reported in X-RateLimit-* headers) and 30 per minute per Discord channel (not in
the headers, like Discord), answering 429 with Discord's body and headers. Failures (5xx, 401,
404, 429, slow answers, dropped connections, redirects) can be ordered per webhook. It records
what it accepted.

Use the `fake_discord` fixture (DISCORD_API_BASE points at it) or `FakeDiscord()` as a context
manager with your own limits.
"""

from __future__ import annotations

import itertools
import json
import random
import re
import socket
import struct
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from shared.config import get_settings

# Only API v10, the version the client pins: any other path is a 404 (and stays in `seen`).
API_VERSION_PATH = "/api/v10"
_PATH = re.compile(r"^/api/v10/webhooks/(\d+)/([^/?]+)/?$")
# The status recorded for a request whose connection the fake reset without answering.
DROPPED = 0
# Each id takes its own block of 4096 values, so the random low bits can never make two ids equal
# (a bare `count() + randrange(4096)` repeats an id in about 1 % of runs of ten webhooks).
_ID_BLOCK = 1 << 12
_snowflakes = itertools.count(int(time.time() * 1000) << 22, _ID_BLOCK)


def snowflake() -> str:
    """A fresh 19-digit Discord-style id, never the same twice in a process."""
    return str(next(_snowflakes) + random.randrange(_ID_BLOCK))


@dataclass
class FakeWebhook:
    """A webhook the fake knows; `url` is what a user would paste from Discord."""

    id: str
    token: str
    channel_id: str
    guild_id: str
    name: str = "Honey Drip alerts"
    deleted: bool = False

    @property
    def url(self) -> str:
        return f"https://discord.com/api/webhooks/{self.id}/{self.token}"


@dataclass
class Accepted:
    """A message the fake posted."""

    webhook_id: str
    channel_id: str
    message_id: str
    payload: dict[str, Any]
    at: float


@dataclass
class Seen:
    """Every request the fake answered."""

    method: str
    webhook_id: str
    status: int
    at: float
    path: str = ""


@dataclass
class _Failure:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


@dataclass
class _Bucket:
    """A fixed window, as Discord's bucket headers describe it."""

    limit: int
    window_s: float
    reset_at: float = 0.0
    used: int = 0

    def roll(self, now: float) -> None:
        if now >= self.reset_at:
            self.reset_at = now + self.window_s
            self.used = 0


class FakeDiscord:
    """The fake server; start() / stop(), or `with FakeDiscord() as fake:`."""

    def __init__(
        self,
        *,
        webhook_limit: int = 5,
        webhook_window_s: float = 2.0,
        channel_limit: int = 30,
        channel_window_s: float = 60.0,
        latency_s: float = 0.0,
    ) -> None:
        self.webhook_limit = webhook_limit
        self.webhook_window_s = webhook_window_s
        self.channel_limit = channel_limit
        self.channel_window_s = channel_window_s
        self.latency_s = latency_s
        self.webhooks: dict[str, FakeWebhook] = {}
        self.accepted: list[Accepted] = []
        self.seen: list[Seen] = []
        self._buckets: dict[str, _Bucket] = {}
        self._channel_hits: dict[str, deque[float]] = {}
        self._failures: dict[tuple[str, str], deque[_Failure]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeDiscord:
        handler = type("Handler", (_Handler,), {"fake": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fake-discord", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeDiscord:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_base(self) -> str:
        """What DISCORD_API_BASE should be set to."""
        assert self._server is not None, "start() the fake first"
        return f"http://127.0.0.1:{self._server.server_port}/api"

    # -- arranging ---------------------------------------------------------------------------
    def add_webhook(self, *, channel_id: str | None = None, guild_id: str | None = None) -> FakeWebhook:
        """A new webhook (in a new Discord channel unless `channel_id` is given)."""
        hook = FakeWebhook(
            id=snowflake(),
            token="tok-" + "".join(random.choices("abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789_-", k=60)),
            channel_id=channel_id or snowflake(),
            guild_id=guild_id or "1111111111111111111",
        )
        with self._lock:
            # Two webhooks under one id would answer the first one's posts 401 (wrong token).
            assert hook.id not in self.webhooks, f"webhook id {hook.id} given twice"
            self.webhooks[hook.id] = hook
        return hook

    def delete_webhook(self, webhook_id: str) -> None:
        """From now on the webhook answers 404 code 10015 (someone deleted it in Discord)."""
        with self._lock:
            self.webhooks[webhook_id].deleted = True

    def fail_next(
        self,
        webhook_id: str,
        status: int,
        *,
        count: int = 1,
        body: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        delay_s: float = 0.0,
        method: str = "POST",
    ) -> None:
        """The next `count` `method` requests to the webhook get `status` (after `delay_s`)."""
        with self._lock:
            queue = self._failures.setdefault((webhook_id, method), deque())
            for _ in range(count):
                queue.append(_Failure(status, body, dict(headers or {}), delay_s))

    def rate_limit_next(
        self, webhook_id: str, retry_after_s: float, *, count: int = 1, is_global: bool = False
    ) -> None:
        """The next `count` requests get a 429 with this `retry_after`."""
        body = {"message": "You are being rate limited.", "retry_after": retry_after_s, "global": is_global}
        headers = {"Retry-After": str(max(1, round(retry_after_s))), "X-RateLimit-Scope": "shared"}
        if is_global:
            headers["X-RateLimit-Global"] = "true"
            headers["X-RateLimit-Scope"] = "global"
        self.fail_next(webhook_id, 429, count=count, body=body, headers=headers)

    def drop_next(self, webhook_id: str, *, count: int = 1) -> None:
        """The next `count` requests are not posted: the connection is reset without an answer."""
        self.fail_next(webhook_id, DROPPED, count=count)

    def slow_next(self, webhook_id: str, delay_s: float, *, count: int = 1) -> None:
        """The next `count` requests are posted, but answered only after `delay_s`."""
        self.fail_next(webhook_id, 200, count=count, delay_s=delay_s)

    # -- reading -----------------------------------------------------------------------------
    def messages(self, webhook_id: str | None = None) -> list[Accepted]:
        with self._lock:
            return [m for m in self.accepted if webhook_id is None or m.webhook_id == webhook_id]

    def statuses(self, webhook_id: str | None = None, method: str = "POST") -> list[int]:
        with self._lock:
            return [
                s.status for s in self.seen if s.method == method and (webhook_id is None or s.webhook_id == webhook_id)
            ]

    def paths(self) -> list[str]:
        """The path of every request the fake saw, the token included (a test's eyes only)."""
        with self._lock:
            return [s.path for s in self.seen]

    def count_429(self) -> int:
        return sum(1 for status in self.statuses() if status == 429)

    # -- answering ---------------------------------------------------------------------------
    def _answer(
        self, method: str, webhook_id: str, token: str, query: dict[str, list[str]], body: bytes
    ) -> tuple[int, dict[str, str], Any, float]:
        now = time.time()
        with self._lock:
            hook = self.webhooks.get(webhook_id)
            if hook is None or hook.deleted:
                return 404, {}, {"message": "Unknown Webhook", "code": 10015}, 0.0
            if token != hook.token:
                return 401, {}, {"message": "Invalid Webhook Token", "code": 50027}, 0.0
            injected = self._failures.get((webhook_id, method))
            failure = injected.popleft() if injected else None
            if failure is not None and failure.status not in (200, 204):
                status = failure.status
                default = {"message": f"fake {status}", "code": 0}
                return status, failure.headers, failure.body or default, failure.delay_s
            if method == "GET":
                return 200, {}, self._webhook_object(hook), 0.0
            bucket = self._buckets.setdefault(webhook_id, _Bucket(self.webhook_limit, self.webhook_window_s))
            bucket.roll(now)
            if bucket.used >= bucket.limit:
                retry = round(bucket.reset_at - now, 3)
                return 429, self._bucket_headers(bucket, now, scope="user"), self._too_many(retry), 0.0
            hits = self._channel_hits.setdefault(hook.channel_id, deque())
            while hits and hits[0] <= now - self.channel_window_s:
                hits.popleft()
            if len(hits) >= self.channel_limit:
                retry = round(hits[0] + self.channel_window_s - now, 3)
                headers = {"X-RateLimit-Scope": "shared", "Retry-After": str(max(1, round(retry)))}
                return 429, headers, self._too_many(retry), 0.0
            bucket.used += 1
            hits.append(now)
            headers = self._bucket_headers(bucket, now, scope=None)
            problem = self._invalid_body(body)
            if problem is not None:
                return 400, headers, problem, 0.0
            payload = json.loads(body)
            message_id = snowflake()
            self.accepted.append(Accepted(webhook_id, hook.channel_id, message_id, payload, now))
            delay = failure.delay_s if failure is not None else 0.0
            if query.get("wait", ["false"])[0].lower() == "true":
                message = {"id": message_id, "channel_id": hook.channel_id, "webhook_id": webhook_id, **payload}
                return 200, headers, message, delay
            return 204, headers, None, delay

    def _webhook_object(self, hook: FakeWebhook) -> dict[str, Any]:
        return {
            "id": hook.id,
            "type": 1,
            "guild_id": hook.guild_id,
            "channel_id": hook.channel_id,
            "name": hook.name,
            "avatar": None,
            "token": hook.token,
            "application_id": None,
        }

    def _bucket_headers(self, bucket: _Bucket, now: float, scope: str | None) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(bucket.limit),
            "X-RateLimit-Remaining": str(max(bucket.limit - bucket.used, 0)),
            "X-RateLimit-Reset": f"{bucket.reset_at:.3f}",
            "X-RateLimit-Reset-After": f"{max(bucket.reset_at - now, 0):.3f}",
            "X-RateLimit-Bucket": "fake-webhook-bucket",
        }
        if scope:
            headers["X-RateLimit-Scope"] = scope
            headers["Retry-After"] = str(max(1, round(bucket.reset_at - now)))
        return headers

    @staticmethod
    def _too_many(retry_after: float) -> dict[str, Any]:
        return {"message": "You are being rate limited.", "retry_after": max(retry_after, 0.001), "global": False}

    @staticmethod
    def _invalid_body(body: bytes) -> dict[str, Any] | None:
        try:
            payload = json.loads(body)
        except ValueError:
            return {"message": "Cannot send an empty message", "code": 50006}
        if not isinstance(payload, dict) or not (payload.get("content") or payload.get("embeds")):
            return {"message": "Cannot send an empty message", "code": 50006}
        embeds = payload.get("embeds") or []
        total = 0
        errors: list[str] = []
        if len(payload.get("content") or "") > 2000:
            errors.append("content")
        if len(embeds) > 10:
            errors.append("embeds")
        for index, embed in enumerate(embeds):
            title = (embed.get("title") or "").strip()
            description = (embed.get("description") or "").strip()
            fields = embed.get("fields") or []
            footer = ((embed.get("footer") or {}).get("text") or "").strip()
            author = ((embed.get("author") or {}).get("name") or "").strip()
            if len(title) > 256 or len(description) > 4096 or len(fields) > 25 or len(footer) > 2048:
                errors.append(f"embeds.{index}")
            for f in fields:
                name, value = (f.get("name") or "").strip(), (f.get("value") or "").strip()
                if not name or not value or len(name) > 256 or len(value) > 1024:
                    errors.append(f"embeds.{index}.fields")
                total += len(name) + len(value)
            total += len(title) + len(description) + len(footer) + len(author)
        if total > 6000:
            errors.append("embeds (6000 total)")
        if errors:
            return {"message": "Invalid Form Body", "code": 50035, "errors": errors}
        return None


class _Handler(BaseHTTPRequestHandler):
    fake: FakeDiscord
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _serve(self, method: str) -> None:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        match = _PATH.match(parts.path)
        if match is None:
            with self.fake._lock:
                self.fake.seen.append(Seen(method, "", 404, time.time(), parts.path))
            self._send(404, {}, {"message": "404: Not Found", "code": 0})
            return
        webhook_id, token = match.groups()
        if self.fake.latency_s:
            time.sleep(self.fake.latency_s)
        status, headers, payload, delay = self.fake._answer(method, webhook_id, token, parse_qs(parts.query), body)
        with self.fake._lock:
            self.fake.seen.append(Seen(method, webhook_id, status, time.time(), parts.path))
        if delay:
            time.sleep(delay)
        if status == DROPPED:
            self._reset()
            return
        self._send(status, headers, payload)

    def _reset(self) -> None:
        # Linger 0: closing sends an RST, as a proxy or load balancer dropping the request would.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.close_connection = True

    def _send(self, status: int, headers: dict[str, str], payload: Any) -> None:
        data = b"" if payload is None else json.dumps(payload).encode()
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            if payload is not None:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up waiting (a timeout test)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")


@pytest.fixture
def fake_discord() -> Iterator[FakeDiscord]:
    """A running fake Discord at Discord's limits, with DISCORD_API_BASE pointing at it.

    It clears the settings cache, so `get_settings()` called after it sees the fake's base.
    """
    with FakeDiscord() as fake, pytest.MonkeyPatch.context() as patch:
        patch.setenv("DISCORD_API_BASE", fake.api_base)
        get_settings.cache_clear()
        yield fake
    get_settings.cache_clear()
