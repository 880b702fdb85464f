"""Structured logging: JSON lines in production, plain text locally, secrets always scrubbed."""

from __future__ import annotations

import logging
import re
import sys
import time
from typing import Any

import orjson

# Anything shaped like a secret is replaced before a record is written, whatever logged it.
_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(https?://[^\s\"']*/webhooks/\d+/)[\w-]+"), r"\1****"),
    (re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*"), "<jwt>"),
    (re.compile(r"(?i)(bearer\s+)[^\s\"',]+"), r"\1****"),
    (re.compile(r"(?i)([?&](?:apikey|token|access_token|key)=)[^&\s\"']+"), r"\1****"),
    (re.compile(r"(?i)(\"params\"\s*:\s*\")[^\"]{12,}(\")"), r"\1****\2"),
    (re.compile(r"(postgres(?:ql)?://[^:/\s]+:)[^@\s]+(@)"), r"\1****\2"),
)
_SECRETS: set[str] = set()
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}


def register_secret(value: str | None) -> None:
    """Never write `value` (an API key, a proxy token) to any log line."""
    if value and len(value) >= 6:
        _SECRETS.add(value)


def redact(text: str) -> str:
    """`text` with every known secret and secret-shaped substring masked."""
    for secret in _SECRETS:
        if secret in text:
            text = text.replace(secret, "****")
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, msg, and any `extra=` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(_extras(record))
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return redact(orjson.dumps(entry, default=str).decode())


class TextFormatter(logging.Formatter):
    """Human-readable lines for a terminal, extras appended as key=value."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        return redact(line)


def resolved_format(fmt: str, stream: Any = None) -> str:
    """`auto` is text on a terminal and JSON anywhere else (Lambda, a pipe, a file)."""
    if fmt != "auto":
        return fmt
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


def configure_logging(level: str = "INFO", fmt: str = "auto") -> None:
    """Send the root logger to stderr in `fmt` (json|text|auto) at `level`; idempotent."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if resolved_format(fmt) == "json" else TextFormatter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        if getattr(existing, "_honeydrip", False):
            root.removeHandler(existing)
    handler._honeydrip = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("urllib3", "botocore", "boto3", "httpx", "httpcore", "hpack", "pgserver"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
