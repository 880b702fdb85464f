"""SIGTERM (a container stopping): clients are told 1001, the upstream socket is closed with a close frame."""

from __future__ import annotations

import pytest
from websockets.exceptions import ConnectionClosed

from tests.fakes.massive import FakeMassive
from tests.relay.conftest import RelayProcess, subscribe


def test_sigterm_closes_clients_with_1001_and_the_upstream_with_a_close_frame(
    relay: RelayProcess, massive: FakeMassive
) -> None:
    ws = relay.connect("options")
    subscribe(ws, "Q.O:SPY251219C00650000", expect_acks=1)
    massive.wait_for(lambda: bool(massive.relay_connections("options")), what="the relay's options socket")
    assert relay.stop() == 0
    with pytest.raises(ConnectionClosed) as closed:
        while True:
            ws.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1001
    [upstream] = massive.relay_connections("options")
    massive.wait_for(lambda: not upstream.open, what="the upstream socket closed")
    # A close frame, not a dropped TCP connection (1006), so Massive frees the slot at once.
    assert upstream.close_code == 1001
