"""A console stand-in for Discord's webhook API, for `make dev` when no real Discord is configured.

It answers the two calls the delivery engine makes — `GET` (validate) and `POST` (execute) on
`/api[/vN]/webhooks/<id>/<token>` — as Discord shapes them, checks each message against
Discord's limits, and prints it to the terminal instead of posting it anywhere.
"""

from __future__ import annotations

import argparse
import itertools
import re
import signal
import sys
import threading
import time
from types import FrameType
from typing import Any, TextIO

from flask import Flask, Response, jsonify, request
from pydantic import ValidationError
from werkzeug.serving import WSGIRequestHandler, make_server

from shared.discord.limits import limit_report
from shared.discord.payloads import WebhookPayload

# `/webhooks/<id>/<token>`: the token is the webhook's password, never written to a log.
WEBHOOK_TOKEN_IN_PATH = re.compile(r"(/webhooks/[^/\s]+/)[^/?\s]+")

DISCORD_EPOCH_MS = 1_420_070_400_000
CONSOLE_GUILD_ID = "100000000000000001"
_RATE_HEADERS = {"X-RateLimit-Limit": "5", "X-RateLimit-Remaining": "4", "X-RateLimit-Reset-After": "0.4"}


class Snowflakes:
    """Discord-shaped ids: milliseconds since Discord's epoch, shifted, plus a counter."""

    def __init__(self) -> None:
        self._counter = itertools.count()
        self._lock = threading.Lock()

    def next(self) -> str:
        with self._lock:
            increment = next(self._counter) & 0xFFF
        return str(((int(time.time() * 1000) - DISCORD_EPOCH_MS) << 22) | increment)


def render_text(webhook_id: str, payload: WebhookPayload) -> str:
    """The message as a reader would see it in the channel, in plain text."""
    lines = [f"──── Discord webhook …{webhook_id[-4:]} ────"]
    if payload.content:
        lines.append(payload.content)
    for embed in payload.embeds:
        if embed.title:
            lines.append(embed.title)
        if embed.description:
            lines.append(f"  {embed.description}")
        for field in embed.fields:
            lines.append(f"  {field.name}: {field.value}")
        if embed.footer is not None:
            lines.append(f"  — {embed.footer.text}")
    return "\n".join(lines) + "\n"


def _discord_error(status: int, code: int, message: str) -> tuple[Response, int]:
    return jsonify({"message": message, "code": code}), status


def create_app(out: TextIO | None = None) -> Flask:
    """The sink's WSGI app; messages are written to `out` (stdout by default)."""
    app = Flask("discord-console-sink")
    ids = Snowflakes()
    print_lock = threading.Lock()

    def webhook(webhook_id: str, token: str) -> dict[str, Any]:
        return {
            "id": webhook_id,
            "type": 1,
            "guild_id": CONSOLE_GUILD_ID,
            "channel_id": str(int(webhook_id) % 10**18 + 10**17),
            "name": "console sink",
            "avatar": None,
            "token": token,
            "application_id": None,
        }

    @app.get("/api/webhooks/<webhook_id>/<token>")
    @app.get("/api/v<int:version>/webhooks/<webhook_id>/<token>")
    def get_webhook(webhook_id: str, token: str, version: int | None = None) -> Any:
        if not webhook_id.isdigit():
            return _discord_error(404, 10015, "Unknown Webhook")
        return jsonify(webhook(webhook_id, token))

    @app.post("/api/webhooks/<webhook_id>/<token>")
    @app.post("/api/v<int:version>/webhooks/<webhook_id>/<token>")
    def execute(webhook_id: str, token: str, version: int | None = None) -> Any:
        if not webhook_id.isdigit():
            return _discord_error(404, 10015, "Unknown Webhook")
        try:
            payload = WebhookPayload.model_validate(request.get_json(force=True, silent=False))
        except (ValidationError, ValueError) as error:
            return _discord_error(400, 50035, f"Invalid Form Body: {error}")
        report = limit_report(payload)
        if not report["within_limits"]:
            return _discord_error(400, 50035, "Invalid Form Body: " + "; ".join(report["violations"]))
        with print_lock:
            stream = out or sys.stdout
            stream.write(render_text(webhook_id, payload))
            stream.flush()
        headers = {**_RATE_HEADERS, "X-RateLimit-Bucket": f"console-{webhook_id}"}
        if request.args.get("wait", "false").lower() != "true":
            return Response(status=204, headers=headers)
        message = {
            "id": ids.next(),
            "type": 0,
            "channel_id": webhook(webhook_id, token)["channel_id"],
            "webhook_id": webhook_id,
            "content": payload.content or "",
            "embeds": payload.to_json_dict().get("embeds", []),
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime()),
        }
        return jsonify(message), 200, headers

    return app


class RedactingRequestHandler(WSGIRequestHandler):
    """werkzeug's access log, with the webhook token in each path replaced by `***`."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        path = self.path
        self.path = WEBHOOK_TOKEN_IN_PATH.sub(r"\1***", path)
        try:
            super().log_request(code, size)
        finally:
            self.path = path


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m shared.local.console_sink", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8090)
    args = parser.parse_args(argv)
    server = make_server(args.host, args.port, create_app(), threaded=True, request_handler=RedactingRequestHandler)
    signal.signal(signal.SIGTERM, _interrupt)
    print(f"discord console sink on http://{args.host}:{server.server_port}/api", file=sys.stderr, flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        server.server_close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
