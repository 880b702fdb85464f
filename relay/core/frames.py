"""The relay's wire vocabulary: client frames in, Massive-shaped status events out."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

import orjson
from pydantic import BaseModel, ConfigDict, ValidationError


class Status(StrEnum):
    """`status` values of the relay's own status events (Massive's where they exist)."""

    CONNECTED = "connected"
    AUTH_SUCCESS = "auth_success"
    AUTH_FAILED = "auth_failed"
    SUCCESS = "success"
    ERROR = "error"
    PONG = "pong"
    UPSTREAM_CONNECTED = "upstream_connected"
    UPSTREAM_DISCONNECTED = "upstream_disconnected"
    SLOW_CONSUMER = "slow_consumer"


class ClientFrame(BaseModel):
    """A frame a client sends: subscribe/unsubscribe channels, ping, or (re)authenticate."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    action: Literal["subscribe", "unsubscribe", "ping", "auth"]
    # No length cap here: the 64 KB frame limit bounds it, and 1,000 channels fit in one frame.
    params: str | list[str] | None = None


class StatusEvent(BaseModel):
    """`{"ev":"status","status":…,"message":…}`, as Massive shapes its own."""

    model_config = ConfigDict(frozen=True)

    ev: Literal["status"] = "status"
    status: Status
    message: str | None = None


class FrameError(ValueError):
    """A client frame the relay cannot act on; the message is sent back as an error status."""


def parse_client_frame(text: bytes | str) -> ClientFrame:
    """Parse one client frame, or raise FrameError saying what is wrong with it."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError:
        raise FrameError("frames must be JSON objects like {\"action\":\"subscribe\",\"params\":\"…\"}") from None
    if not isinstance(data, dict):
        raise FrameError("frames must be JSON objects, not " + type(data).__name__)
    try:
        return ClientFrame.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "frame"
        if field == "action" and "action" in data:
            action = str(data["action"])[:40]
            raise FrameError(
                f"unknown action {action!r}: use subscribe, unsubscribe, ping or auth"
            ) from None
        raise FrameError(f"{field}: {first['msg']}") from None


def status_frame(*events: StatusEvent) -> bytes:
    """One Massive-style array frame holding `events`."""
    return orjson.dumps([event.model_dump(mode="json", exclude_none=True) for event in events])


def status(kind: Status, message: str | None = None) -> StatusEvent:
    """A status event of `kind`."""
    return StatusEvent(status=kind, message=message)
