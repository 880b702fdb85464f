"""A bare WebSocket client over a plain socket, for clients that misbehave on purpose.

It can stop reading (with a small receive buffer so the relay's writes back up quickly),
never answer pings, send arbitrary bytes, or hold a thousand connections without a thread each.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import struct
from dataclasses import dataclass
from typing import Any


def client_frame(opcode: int, payload: bytes, *, fin: bool = True) -> bytes:
    """One masked client-to-server frame (RFC 6455 5.2), encoded here rather than by relay.core.wire."""
    mask = os.urandom(4)
    length = len(payload)
    first = (0x80 if fin else 0) | opcode
    if length < 126:
        header = struct.pack("!BB", first, 0x80 | length)
    elif length <= 0xFFFF:
        header = struct.pack("!BBH", first, 0x80 | 126, length)
    else:
        header = struct.pack("!BBQ", first, 0x80 | 127, length)
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))

@dataclass
class Frame:
    opcode: int
    payload: bytes

    @property
    def close_code(self) -> int | None:
        return struct.unpack("!H", self.payload[:2])[0] if self.opcode == 0x8 and len(self.payload) >= 2 else None

    @property
    def close_reason(self) -> str:
        return self.payload[2:].decode() if self.opcode == 0x8 else ""

    def json(self) -> Any:
        return json.loads(self.payload)


class HandshakeRefused(Exception):
    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


class RawClient:
    """One connection to the relay, driven byte by byte."""

    def __init__(self, host: str, port: int, path: str, *, rcvbuf: int | None = None, timeout: float = 5.0,
                 headers: dict[str, str] | None = None) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect((host, port))
        key = base64.b64encode(os.urandom(16)).decode()
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        request = (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
        )
        self.sock.sendall(request.encode())
        self._buffer = b""
        head = self._read_until(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        if status != 101:
            self.sock.close()
            raise HandshakeRefused(status)

    def _read_until(self, marker: bytes) -> bytes:
        while marker not in self._buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed during handshake")
            self._buffer += chunk
        head, _, self._buffer = self._buffer.partition(marker)
        return head

    def _exactly(self, size: int) -> bytes:
        while len(self._buffer) < size:
            chunk = self.sock.recv(max(65536, size))
            if not chunk:
                raise ConnectionError("connection closed")
            self._buffer += chunk
        data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data

    def send_frame(self, opcode: int, payload: bytes, *, fin: bool = True) -> None:
        self.sock.sendall(client_frame(opcode, payload, fin=fin))

    def send_json(self, value: Any) -> None:
        self.send_frame(0x1, json.dumps(value).encode())

    def send_raw(self, data: bytes) -> None:
        self.sock.sendall(data)

    def read_frame(self) -> Frame:
        first, second = self._exactly(2)
        length = second & 0x7F
        if length == 126:
            (length,) = struct.unpack("!H", self._exactly(2))
        elif length == 127:
            (length,) = struct.unpack("!Q", self._exactly(8))
        return Frame(first & 0x0F, self._exactly(length))

    def read_data(self) -> Any:
        """The next data frame as JSON, answering pings on the way."""
        while True:
            frame = self.read_frame()
            if frame.opcode == 0x9:
                self.send_frame(0xA, frame.payload)
                continue
            if frame.opcode == 0x8:
                raise ConnectionError(f"closed {frame.close_code} {frame.close_reason}")
            return frame.json()

    def read_until_close(self) -> Frame:
        """Skip everything up to the close frame and return it."""
        while True:
            frame = self.read_frame()
            if frame.opcode == 0x8:
                return frame

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.send_frame(0x8, struct.pack("!H", 1000))
        self.sock.close()

    def abort(self) -> None:
        """Vanish: reset the TCP connection without a close frame."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()
