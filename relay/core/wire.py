"""The WebSocket wire format on the server side (RFC 6455): frames in and out, pure.

gevent-websocket does the handshake; reading and writing frames is ours so that size limits
hold before a payload is read, pongs are seen, and close frames carry their code.
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from dataclasses import dataclass

OP_CONTINUATION = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

MAX_MESSAGE_BYTES = 64 * 1024
# An oversized frame up to this size is read and thrown away so the connection survives it;
# anything larger is a protocol abuse and closes the connection with 1009.
MAX_DISCARD_BYTES = 1024 * 1024

Read = Callable[[int], bytes]


class WireError(Exception):
    """The peer broke the protocol; close with `code` and `reason`."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(f"{code} {reason}")
        self.code = code
        self.reason = reason


class ConnectionGone(Exception):
    """The peer's socket ended."""


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame; `oversized` is the declared length of a data frame that was discarded."""

    fin: bool
    opcode: int
    payload: bytes
    oversized: int = 0


def encode_frame(opcode: int, payload: bytes) -> bytes:
    """An unmasked, final frame (servers never mask)."""
    length = len(payload)
    if length < 126:
        header = struct.pack("!BB", 0x80 | opcode, length)
    elif length <= 0xFFFF:
        header = struct.pack("!BBH", 0x80 | opcode, 126, length)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 127, length)
    return header + payload


def close_frame(code: int, reason: str) -> bytes:
    """A close frame with `code` and `reason` (trimmed to fit a control frame)."""
    encoded = reason.encode("utf-8")[:123]
    return encode_frame(OP_CLOSE, struct.pack("!H", code) + encoded)


def unmask(payload: bytes, mask: bytes) -> bytes:
    """XOR `payload` with the repeating 4-byte `mask`."""
    length = len(payload)
    if not length:
        return payload
    key = (mask * (length // 4 + 1))[:length]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(key, "big")).to_bytes(length, "big")


def _exactly(read: Read, size: int) -> bytes:
    data = read(size)
    if len(data) != size:
        raise ConnectionGone("the peer closed the connection")
    return data


def read_frame(read: Read, max_payload: int = MAX_MESSAGE_BYTES) -> Frame:
    """Read one client frame; data frames over `max_payload` come back empty with `oversized` set."""
    first, second = _exactly(read, 2)
    fin = bool(first & 0x80)
    opcode = first & 0x0F
    if first & 0x70:
        raise WireError(1002, "reserved bits set")
    if not second & 0x80:
        raise WireError(1002, "client frames must be masked")
    length = second & 0x7F
    if opcode >= 0x8:
        if not fin or length > 125:
            raise WireError(1002, "bad control frame")
        if opcode not in (OP_CLOSE, OP_PING, OP_PONG):
            raise WireError(1002, f"unknown opcode {opcode}")
    elif opcode not in (OP_CONTINUATION, OP_TEXT, OP_BINARY):
        raise WireError(1002, f"unknown opcode {opcode}")
    if length == 126:
        (length,) = struct.unpack("!H", _exactly(read, 2))
    elif length == 127:
        (length,) = struct.unpack("!Q", _exactly(read, 8))
    mask = _exactly(read, 4)
    if length > max_payload:
        if length > MAX_DISCARD_BYTES:
            raise WireError(1009, f"frame of {length} bytes; the limit is {max_payload}")
        remaining = length
        while remaining:
            remaining -= len(_exactly(read, min(remaining, 65536)))
        return Frame(fin, opcode, b"", oversized=length)
    return Frame(fin, opcode, unmask(_exactly(read, length), mask) if length else b"")


@dataclass(frozen=True, slots=True)
class Message:
    """A complete data message, or the size of one that was too large."""

    payload: bytes
    oversized: int = 0


class MessageAssembler:
    """Joins fragmented data frames into messages, enforcing the message size limit."""

    def __init__(self, max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._parts: list[bytes] | None = None
        self._size = 0
        self._oversized = 0

    def feed(self, frame: Frame) -> Message | None:
        """Add a data frame; returns the message once its final frame arrived."""
        if frame.opcode == OP_CONTINUATION:
            if self._parts is None:
                raise WireError(1002, "continuation without a message")
        elif self._parts is not None:
            raise WireError(1002, "new message before the previous one ended")
        else:
            self._parts, self._size, self._oversized = [], 0, 0
        self._size += frame.oversized or len(frame.payload)
        if frame.oversized or self._size > self.max_bytes:
            self._oversized = self._size
            self._parts = []
        elif not self._oversized:
            self._parts.append(frame.payload)
        if not frame.fin:
            return None
        parts, self._parts = self._parts, None
        if self._oversized:
            return Message(b"", oversized=self._size)
        return Message(b"".join(parts))
