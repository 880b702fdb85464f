"""The server-side WebSocket frame codec."""

import io
import os
import struct

import pytest

from relay.core.wire import (
    OP_CLOSE,
    OP_CONTINUATION,
    OP_TEXT,
    MessageAssembler,
    WireError,
    close_frame,
    encode_frame,
    read_frame,
)
from tests.relay.rawclient import client_frame


@pytest.mark.parametrize("size", [0, 5, 125, 126, 65535, 65536])
def test_masked_client_frames_decode_to_their_payload(size: int) -> None:
    payload = os.urandom(size)
    frame = read_frame(io.BytesIO(client_frame(OP_TEXT, payload)).read, max_payload=1 << 20)
    assert frame.payload == payload and frame.fin and frame.opcode == OP_TEXT


def test_a_frame_over_the_limit_is_skipped_and_reported_with_its_size() -> None:
    stream = io.BytesIO(client_frame(OP_TEXT, b"x" * 70_000) + client_frame(OP_TEXT, b"next"))
    big = read_frame(stream.read)
    assert big.oversized == 70_000 and big.payload == b""
    assert read_frame(stream.read).payload == b"next"


def test_an_absurd_frame_length_closes_with_1009() -> None:
    header = struct.pack("!BBQ", 0x81, 0x80 | 127, 1 << 40) + b"mask"
    with pytest.raises(WireError) as error:
        read_frame(io.BytesIO(header).read)
    assert error.value.code == 1009


def test_unmasked_client_frames_are_a_protocol_error() -> None:
    with pytest.raises(WireError) as error:
        read_frame(io.BytesIO(b"\x81\x02hi").read)
    assert error.value.code == 1002


def test_close_frames_carry_the_code_then_the_reason() -> None:
    frame = close_frame(4008, "slow consumer")
    assert frame[0] == 0x80 | OP_CLOSE
    assert struct.unpack("!H", frame[2:4])[0] == 4008 and frame[4:] == b"slow consumer"


def test_server_frames_use_the_right_length_encoding() -> None:
    assert encode_frame(OP_TEXT, b"a" * 10)[1] == 10
    assert encode_frame(OP_TEXT, b"a" * 300)[1] == 126
    assert encode_frame(OP_TEXT, b"a" * 70_000)[1] == 127


def test_fragments_join_into_one_message() -> None:
    stream = io.BytesIO(client_frame(OP_TEXT, b"ab", fin=False) + client_frame(OP_CONTINUATION, b"cd"))
    assembler = MessageAssembler()
    assert assembler.feed(read_frame(stream.read)) is None
    message = assembler.feed(read_frame(stream.read))
    assert message is not None and message.payload == b"abcd"


def test_fragments_adding_up_past_the_limit_make_an_oversized_message() -> None:
    assembler = MessageAssembler(max_bytes=10)
    stream = io.BytesIO(client_frame(OP_TEXT, b"x" * 8, fin=False) + client_frame(OP_CONTINUATION, b"y" * 8))
    assembler.feed(read_frame(stream.read))
    message = assembler.feed(read_frame(stream.read))
    assert message is not None and message.oversized == 16
