"""Per-session rules: keepalive and token clocks, the frame rate limit, client frames, health documents."""

import pytest

from relay.__main__ import relay_port
from relay.admission import Gatekeeper
from relay.core.channels import Cluster
from relay.core.frames import FrameError, Status, parse_client_frame, status, status_frame
from relay.core.health import ClusterCounters, ClusterReport, prometheus, ws_health
from relay.core.liveness import Liveness, Verdict
from relay.core.ratelimit import Admission, FrameRate, TokenBucket
from shared.auth import AuthError, TokenVerifier, mint_token

SECRET = "unit-test-secret-0123456789abcdef0123"


def test_a_quiet_client_is_pinged_every_25s_and_dropped_10s_later() -> None:
    clock = Liveness(opened_at=0.0, authenticated=True)
    assert clock.check(24.9, 0.0) is Verdict.OK
    assert clock.check(25.0, 0.0) is Verdict.PING
    clock.pinged(25.0)
    assert clock.check(34.9, 0.0) is Verdict.OK
    assert clock.check(35.0, 0.0) is Verdict.NO_PONG


def test_a_pong_resets_the_keepalive() -> None:
    clock = Liveness(opened_at=0.0, authenticated=True)
    clock.pinged(25.0)
    clock.answered()
    assert clock.check(40.0, 0.0) is Verdict.OK
    assert clock.check(50.0, 0.0) is Verdict.PING


def test_an_unauthenticated_client_has_5s_to_authenticate() -> None:
    clock = Liveness(opened_at=0.0)
    assert clock.check(4.9, 0.0) is Verdict.OK
    assert clock.check(5.0, 0.0) is Verdict.AUTH_TIMEOUT


def test_an_admin_session_ends_when_its_token_expires_unless_refreshed() -> None:
    clock = Liveness(opened_at=0.0)
    clock.authenticate(expires_at=1000.0)
    assert clock.check(1.0, 999.0) is Verdict.OK
    assert clock.check(1.0, 1000.0) is Verdict.TOKEN_EXPIRED
    clock.authenticate(expires_at=5000.0)
    assert clock.check(1.0, 1000.0) is Verdict.OK


def test_fifty_frames_a_second_pass_and_the_51st_does_not() -> None:
    bucket = TokenBucket(50, now=0.0)
    assert all(bucket.allow(0.0) for _ in range(50))
    assert not bucket.allow(0.0)
    assert bucket.allow(0.02)


def test_frames_past_the_rate_are_dropped_and_past_twice_the_rate_the_client_is_closed() -> None:
    rate = FrameRate(served=50, tolerated=100, now=0.0)
    verdicts = [rate.admit(0.0) for _ in range(201)]
    assert verdicts[:50] == [Admission.SERVE] * 50
    assert verdicts[50:200] == [Admission.DROP] * 150
    assert verdicts[200] is Admission.CLOSE


def test_a_client_keeping_to_its_rate_is_never_closed() -> None:
    rate = FrameRate(served=50, tolerated=100, now=0.0)
    verdicts = {rate.admit(n / 80) for n in range(80 * 30)}
    assert Admission.CLOSE not in verdicts and Admission.SERVE in verdicts


def test_ws_health_names_the_data_source_and_warns_when_simulated() -> None:
    _, real = ws_health({Cluster.OPTIONS: report()}, now=0.0, max_upstream_connections=5, max_clients=10)
    _, simulated = ws_health({Cluster.OPTIONS: report()}, now=0.0, max_upstream_connections=5, max_clients=10,
                             source="simulator")
    assert real["source"] == "massive" and real["warnings"] == []
    assert simulated["source"] == "simulator" and "simulated data" in simulated["warnings"][0]


@pytest.mark.parametrize(("text", "why"), [
    (b"not json", "JSON objects"),
    (b"[1,2]", "not list"),
    (b'{"action":"dance"}', "unknown action 'dance'"),
    (b'{"params":"x"}', "action: Field required"),
    (b'{"action":"subscribe","params":5}', "params"),
])
def test_bad_client_frames_are_explained(text: bytes, why: str) -> None:
    with pytest.raises(FrameError, match=why):
        parse_client_frame(text)


def test_client_frames_accept_text_or_list_params() -> None:
    assert parse_client_frame(b'{"action":"subscribe","params":["Q.O:X","T.*"]}').params == ["Q.O:X", "T.*"]
    assert parse_client_frame(b'{"action":"ping"}').action == "ping"


def test_status_frames_are_massive_shaped_arrays() -> None:
    assert status_frame(status(Status.PONG)) == b'[{"ev":"status","status":"pong"}]'


def test_the_proxy_token_and_admin_jwts_are_both_accepted_and_nothing_else() -> None:
    gate = Gatekeeper(TokenVerifier(SECRET, None), "proxy-secret-123", frozenset({"https://app.example"}))
    assert gate.authenticate("proxy-secret-123").kind == "service"
    import uuid
    admin = gate.authenticate(mint_token(SECRET, uuid.uuid4()))
    assert admin.kind == "admin" and admin.expires_at is not None
    with pytest.raises(AuthError):
        gate.authenticate("proxy-secret-12")
    with pytest.raises(AuthError):
        gate.authenticate(mint_token("another-secret-0123456789abcdef012", uuid.uuid4()))


def test_browser_origins_must_be_listed_and_clients_without_one_pass() -> None:
    gate = Gatekeeper(TokenVerifier(SECRET, None), None, frozenset({"https://app.example"}))
    assert gate.origin_allowed(None)
    assert gate.origin_allowed("https://app.example/")
    assert not gate.origin_allowed("https://evil.example")


def test_the_relay_listens_on_RELAY_PORT_then_PORT_then_8080() -> None:
    assert relay_port({}) == 8080
    assert relay_port({"PORT": "9001"}) == 9001
    assert relay_port({"PORT": "9001", "RELAY_PORT": "9002"}) == 9002


def report(state: str = "idle", healthy: bool = True, problem: str | None = None, clients: int = 0):
    return ClusterReport(clients, int(state == "connected"), 0, state, 0, None, ClusterCounters(), healthy, problem)


def test_ws_health_has_the_predecessors_shape_and_limits() -> None:
    code, body = ws_health({Cluster.OPTIONS: report("connected"), Cluster.INDICES: report()}, now=0.0,
                           max_upstream_connections=5, max_clients=1000)
    assert code == 200 and body["healthy"] is True and body["warnings"] == []
    assert body["limits"] == {"maxUpstreamConnections": 5, "maxClients": 1000}
    assert set(body["metrics"]["options"]) == {
        "healthy", "totalClients", "upstreamConnections", "activeSubscriptions", "connectionState", "reconnectAttempts",
        "lastError", "lastConnectedAt", "lastMessageAt", "messagesIn", "eventsOut", "eventsConflated",
        "slowConsumerDisconnects", "upstreamErrors"}


def test_an_unhealthy_cluster_makes_ws_health_503_with_its_reason() -> None:
    code, body = ws_health({Cluster.OPTIONS: report("evicted", False, "options: another process")}, now=0.0,
                           max_upstream_connections=5, max_clients=1000)
    assert code == 503 and body["warnings"] == ["options: another process"]
    assert body["metrics"]["options"]["healthy"] is False  # the status page colours this cluster alone


def test_metrics_are_prometheus_text() -> None:
    text = prometheus({Cluster.OPTIONS: report("connected", clients=3)}, max_upstream_connections=5)
    assert 'relay_clients{cluster="options"} 3' in text
    assert "# TYPE relay_events_out_total counter" in text
