"""Admin tokens are verified locally: HS256 with the secret, ES256/RS256 against the project's JWKS."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from flask.testing import FlaskClient

from shared.auth import AuthError, TokenVerifier, bearer_token, mint_token
from tests.conftest import TEST_JWT_SECRET, bearer
from tests.fakes.jwks import JwksServer, serve_jwks

USER = uuid.UUID("11111111-2222-3333-4444-555555555555")


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {"sub": str(USER), "aud": "authenticated", "role": "authenticated", "exp": now + 600}
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


@pytest.fixture(scope="module")
def jwks() -> Iterator[JwksServer]:
    with serve_jwks() as server:
        yield server


def hs_verifier() -> TokenVerifier:
    return TokenVerifier(TEST_JWT_SECRET, None)


def reason_of(verifier: TokenVerifier, token: str) -> str:
    with pytest.raises(AuthError) as caught:
        verifier.verify(token)
    return caught.value.reason


def test_a_token_signed_with_the_project_secret_is_accepted() -> None:
    verified = hs_verifier().verify(mint_token(TEST_JWT_SECRET, USER, email="a@example.com"))
    assert verified.user_id == USER
    assert verified.email == "a@example.com"


def test_an_expired_token_is_refused() -> None:
    token = mint_token(TEST_JWT_SECRET, USER, ttl_s=60, now=time.time() - 3600)
    assert reason_of(hs_verifier(), token) == "token_expired"


def test_a_token_for_another_audience_is_refused() -> None:
    token = jwt.encode(claims(aud="somebody-else"), TEST_JWT_SECRET, algorithm="HS256")
    assert reason_of(hs_verifier(), token) == "invalid_audience"


def test_a_service_role_token_is_not_an_admin_token() -> None:
    token = jwt.encode(claims(role="service_role"), TEST_JWT_SECRET, algorithm="HS256")
    assert reason_of(hs_verifier(), token) == "invalid_audience"


def test_an_unsigned_token_is_refused() -> None:
    token = jwt.encode(claims(), key="", algorithm="none")
    assert reason_of(hs_verifier(), token) == "unsupported_algorithm"


def test_a_token_with_another_hmac_algorithm_is_refused() -> None:
    token = jwt.encode(claims(), TEST_JWT_SECRET, algorithm="HS512")
    assert reason_of(hs_verifier(), token) == "unsupported_algorithm"


def test_a_token_signed_with_another_secret_is_refused() -> None:
    token = mint_token("not-the-project-secret-at-all-0123456789", USER)
    assert reason_of(hs_verifier(), token) == "invalid_signature"


def test_a_token_without_expiry_is_refused() -> None:
    token = jwt.encode(claims(exp=None), TEST_JWT_SECRET, algorithm="HS256")
    assert reason_of(hs_verifier(), token) == "malformed_token"


def test_a_token_whose_subject_is_not_a_user_id_is_refused() -> None:
    token = jwt.encode(claims(sub="admin"), TEST_JWT_SECRET, algorithm="HS256")
    assert reason_of(hs_verifier(), token) == "malformed_token"


def test_garbage_is_refused_as_malformed() -> None:
    assert reason_of(hs_verifier(), "not.a.jwt") == "malformed_token"


@pytest.mark.parametrize(
    ("header", "reason"),
    [(None, "missing_token"), ("", "missing_token"), ("Basic abc", "malformed_token"), ("Bearer ", "malformed_token")],
)
def test_the_authorization_header_must_carry_a_bearer_token(header: str | None, reason: str) -> None:
    with pytest.raises(AuthError) as caught:
        bearer_token(header)
    assert caught.value.reason == reason


def sign(jwks: JwksServer, kid: str, algorithm: str, **overrides: Any) -> str:
    return jwks.sign(kid, algorithm, claims(**overrides))


def test_an_es256_token_is_verified_against_the_projects_jwks(jwks: JwksServer) -> None:
    verifier = TokenVerifier(None, jwks.url)
    assert verifier.verify(sign(jwks, "ec-1", "ES256")).user_id == USER


def test_an_rs256_token_is_verified_against_the_projects_jwks(jwks: JwksServer) -> None:
    verifier = TokenVerifier(None, jwks.url)
    assert verifier.verify(sign(jwks, "rsa-1", "RS256")).user_id == USER


def test_the_jwks_is_fetched_once_not_per_request(jwks: JwksServer) -> None:
    verifier = TokenVerifier(None, jwks.url)
    before = len(jwks.requests)
    for _ in range(20):
        verifier.verify(sign(jwks, "ec-1", "ES256"))
    assert len(jwks.requests) - before == 1


def test_an_asymmetric_token_signed_by_another_key_is_refused(jwks: JwksServer) -> None:
    intruder = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(claims(), intruder, algorithm="ES256", headers={"kid": "ec-1"})
    assert reason_of(TokenVerifier(None, jwks.url), token) == "invalid_signature"


def test_an_asymmetric_token_naming_an_unknown_key_is_refused(jwks: JwksServer) -> None:
    token = jwt.encode(claims(), jwks.keys["ec-1"], algorithm="ES256", headers={"kid": "rotated-away"})
    assert reason_of(TokenVerifier(None, jwks.url), token) == "unknown_key"


def test_an_expired_asymmetric_token_is_refused(jwks: JwksServer) -> None:
    token = sign(jwks, "ec-1", "ES256", exp=int(time.time()) - 60)
    assert reason_of(TokenVerifier(None, jwks.url), token) == "token_expired"


def test_an_asymmetric_token_without_expiry_is_refused(jwks: JwksServer) -> None:
    token = sign(jwks, "ec-1", "ES256", exp=None)
    assert reason_of(TokenVerifier(None, jwks.url), token) == "malformed_token"


def test_an_asymmetric_token_for_another_audience_is_refused(jwks: JwksServer) -> None:
    token = sign(jwks, "ec-1", "ES256", aud="other")
    assert reason_of(TokenVerifier(None, jwks.url), token) == "invalid_audience"


def test_an_unreachable_jwks_refuses_the_token_without_crashing() -> None:
    token = jwt.encode(claims(), ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": "k"})
    assert reason_of(TokenVerifier(None, "http://127.0.0.1:9"), token) == "jwks_unavailable"


@pytest.mark.parametrize(
    ("make_header", "reason"),
    [
        (lambda: None, "missing_token"),
        (lambda: "Token abc", "malformed_token"),
        (lambda: "Bearer " + mint_token(TEST_JWT_SECRET, USER, ttl_s=1, now=0), "token_expired"),
        (lambda: "Bearer " + jwt.encode(claims(aud="x"), TEST_JWT_SECRET, algorithm="HS256"), "invalid_audience"),
        (lambda: "Bearer " + jwt.encode(claims(), "", algorithm="none"), "unsupported_algorithm"),
        (lambda: "Bearer " + mint_token("another-secret-entirely-0123456789abcd", USER), "invalid_signature"),
    ],
)
def test_every_auth_failure_is_a_401_naming_the_reason(client: FlaskClient, make_header: Any, reason: str) -> None:
    header = make_header()
    response = client.get("/api/watchlist", headers={"Authorization": header} if header else {})
    assert response.status_code == 401
    assert response.json is not None
    assert response.json["error"]["code"] == reason
    assert response.json["error"]["message"]


def test_a_user_id_header_is_never_trusted_in_place_of_a_token(client: FlaskClient) -> None:
    response = client.get("/api/watchlist", headers={"X-User-Id": str(USER), "X-Supabase-User": str(USER)})
    assert response.status_code == 401


def test_a_valid_token_reaches_the_route(client: FlaskClient) -> None:
    response = client.get("/api/watchlist", headers=bearer(mint_token(TEST_JWT_SECRET, USER)))
    assert response.status_code == 200


# Claims checked to their types: properly signed tokens with odd claims are 401s, never 500s.
ODD_CLAIMS = {
    "a urn:uuid subject": {"sub": f"urn:uuid:{USER}"},
    "a braced subject": {"sub": "{" + str(USER) + "}"},
    "a subject without hyphens": {"sub": USER.hex},
    "a numeric subject": {"sub": 12345},
    "an expiry of 1e20": {"exp": 1e20},
    "an integer expiry past 64 bits": {"exp": 10**20},
    "an expiry that is true": {"exp": True},
    "an issued-at past 64 bits": {"iat": 10**30},
    "a custom claim past 64 bits": {"tier": 10**30},
    "a role that is a list": {"role": ["authenticated"]},
    "a claim holding NUL": {"email": "a\x00@example.com"},
}


@pytest.mark.parametrize("odd", ODD_CLAIMS.values(), ids=list(ODD_CLAIMS))
def test_a_signed_token_with_odd_claims_is_refused_not_a_server_error(odd: dict[str, Any]) -> None:
    try:
        token = jwt.encode(claims(**odd), TEST_JWT_SECRET, algorithm="HS256")
    except TypeError:
        pytest.skip("PyJWT cannot even encode this claim")
    assert reason_of(hs_verifier(), token) in {"malformed_token", "token_expired", "invalid_audience"}


@pytest.mark.parametrize("odd", ODD_CLAIMS.values(), ids=list(ODD_CLAIMS))
def test_a_request_with_an_odd_claims_token_is_a_401(client: FlaskClient, odd: dict[str, Any]) -> None:
    try:
        token = jwt.encode(claims(**odd), TEST_JWT_SECRET, algorithm="HS256")
    except TypeError:
        pytest.skip("PyJWT cannot even encode this claim")
    response = client.get("/api/watchlist", headers=bearer(token))
    assert response.status_code == 401, response.get_data(as_text=True)
    assert response.json is not None
