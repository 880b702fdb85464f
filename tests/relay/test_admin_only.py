"""The relay streams to admins only: a member's token is refused before the upgrade and in `auth` frames."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect
from websockets.sync.connection import Connection

from relay.admission import Gatekeeper
from shared.admins import NOT_AN_ADMIN, NotAnAdmin
from shared.auth import AuthError, TokenVerifier, mint_token
from tests.conftest import TEST_JWT_SECRET
from tests.fakes.jwks import serve_jwks
from tests.relay.conftest import PROXY_TOKEN, RelayProcess, StartRelay, admin_token, recv_json, statuses, subscribe

X = "O:SPY251219C00650000"


def member_token() -> str:
    return mint_token(TEST_JWT_SECRET, uuid.uuid4(), email="member@example.com", app_role=None)


def closed_with(ws: Connection, timeout: float = 8.0) -> tuple[int | None, str]:
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ws.recv(timeout=deadline - time.monotonic())
    except ConnectionClosed as closed:
        assert closed.rcvd is not None, "closed without a close frame"
        return closed.rcvd.code, closed.rcvd.reason
    except TimeoutError:
        pass
    raise AssertionError("the relay did not close the connection")


def test_a_members_token_is_refused_with_403_before_the_upgrade(relay: RelayProcess) -> None:
    for cluster in ("options", "indices"):
        with pytest.raises(InvalidStatus) as refused:
            connect(relay.ws_url(cluster, member_token()))
        assert refused.value.response.status_code == 403
        error = json.loads(refused.value.response.body)["error"]
        assert (error["code"], error["field"]) == (NOT_AN_ADMIN, "token")


def test_a_members_auth_frame_is_refused_like_a_bad_token(relay: RelayProcess) -> None:
    ws = relay.connect(token=None)
    ws.send(json.dumps({"action": "auth", "params": member_token()}))
    assert statuses(recv_json(ws), "auth_failed")
    assert closed_with(ws) == (1008, "unauthorized")


def test_an_admin_refreshing_with_a_members_token_is_closed(relay: RelayProcess) -> None:
    ws = relay.connect()
    subscribe(ws, f"Q.{X}", expect_acks=1)
    ws.send(json.dumps({"action": "auth", "params": member_token()}))
    assert closed_with(ws) == (1008, "unauthorized")


def test_an_admin_is_streamed_to(relay: RelayProcess) -> None:
    ws = relay.connect(token=None)
    ws.send(json.dumps({"action": "auth", "params": admin_token()}))
    assert statuses(recv_json(ws), "auth_success")
    subscribe(ws, f"Q.{X}", expect_acks=1)


def test_the_relay_reads_admin_roles(start_relay: StartRelay) -> None:
    relay = start_relay(ADMIN_ROLES="owner")
    with pytest.raises(InvalidStatus) as refused:
        connect(relay.ws_url("options", admin_token()))
    assert refused.value.response.status_code == 403
    owner = mint_token(TEST_JWT_SECRET, uuid.uuid4(), app_role="owner")
    subscribe(relay.connect(token=owner), f"Q.{X}", expect_acks=1)


def test_a_members_asymmetric_token_is_refused_too(start_relay: StartRelay) -> None:
    with serve_jwks() as project:
        relay = start_relay(SUPABASE_JWT_SECRET=None, SUPABASE_URL=project.url)
        with pytest.raises(InvalidStatus) as refused:
            connect(relay.ws_url("options", project.access_token(uuid.uuid4(), member=True)))
        assert refused.value.response.status_code == 403


def test_the_gatekeeper_admits_admins_and_the_proxy_token_only() -> None:
    gate = Gatekeeper(TokenVerifier(TEST_JWT_SECRET, None), PROXY_TOKEN, frozenset())
    assert gate.authenticate(admin_token()).kind == "admin"
    assert gate.authenticate(PROXY_TOKEN).kind == "service"
    with pytest.raises(NotAnAdmin) as refused:
        gate.authenticate(member_token())
    assert isinstance(refused.value, AuthError) and refused.value.reason == NOT_AN_ADMIN
