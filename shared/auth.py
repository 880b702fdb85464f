"""Local verification of admins' Supabase access tokens.

HS256 tokens are checked with the project's JWT secret (PyJWT). ES256/RS256 tokens are
checked by supabase-auth's `get_claims` against the project's JWKS, which it fetches once
and caches, so no request costs a network call. Nothing here ever trusts a header in place
of a verified signature.
"""

from __future__ import annotations

import math
import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import jwt
import orjson

from shared.config import Settings

if TYPE_CHECKING:
    # Imported lazily below: supabase-auth (httpx and friends) costs ~240 ms of every cold start,
    # and only projects signing with asymmetric keys need it.
    from supabase_auth import SyncGoTrueClient

AUDIENCE = "authenticated"
# The role in app_metadata that makes an admin by default (ADMIN_ROLES; see shared/admins.py).
DEFAULT_ADMIN_ROLE = "admin"
ASYMMETRIC_ALGORITHMS = frozenset({"ES256", "RS256"})
# Tokens signed a few seconds "in the future" by a skewed clock are still accepted.
LEEWAY_S = 10


class AuthError(Exception):
    """A token was refused; `reason` is a stable machine code, `message` says why."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class VerifiedToken:
    """The claims of a token whose signature, expiry and audience were checked."""

    user_id: uuid.UUID
    expires_at: float
    claims: dict[str, Any] = field(repr=False)

    @property
    def email(self) -> str | None:
        value = self.claims.get("email")
        return value if isinstance(value, str) else None


def bearer_token(authorization: str | None) -> str:
    """The token in an `Authorization: Bearer …` header, or AuthError."""
    if not authorization:
        raise AuthError("missing_token", "an Authorization: Bearer token is required")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthError("malformed_token", "the Authorization header must be 'Bearer <token>'")
    return token.strip()


class TokenVerifier:
    """Verifies Supabase access tokens with the configured HS256 secret or JWKS."""

    def __init__(self, jwt_secret: str | None, supabase_url: str | None) -> None:
        self._secret = jwt_secret
        self._auth_url = f"{supabase_url.rstrip('/')}/auth/v1" if supabase_url else None
        self._jwks_client: SyncGoTrueClient | None = None
        self._lock = threading.Lock()

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenVerifier:
        secret = settings.supabase_jwt_secret.get_secret_value() if settings.supabase_jwt_secret else None
        url = str(settings.supabase_url) if settings.supabase_url else None
        return cls(secret, url)

    def verify(self, token: str) -> VerifiedToken:
        """Return the verified claims of `token`, or raise AuthError naming the reason."""
        if not token:
            raise AuthError("missing_token", "a token is required")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise AuthError("malformed_token", "the token is not a well-formed JWT") from None
        algorithm = header.get("alg")
        if algorithm == "HS256":
            claims = self._verify_hs256(token)
        elif algorithm in ASYMMETRIC_ALGORITHMS:
            claims = self._verify_jwks(token)
        else:
            raise AuthError("unsupported_algorithm", f"tokens signed with {algorithm!r} are not accepted")
        return _claims_to_token(claims)

    def _verify_hs256(self, token: str) -> dict[str, Any]:
        if not self._secret:
            raise AuthError("unsupported_algorithm", "HS256 tokens are not accepted: no JWT secret is set")
        try:
            return jwt.decode(
                token,
                self._secret,
                algorithms=["HS256"],
                audience=AUDIENCE,
                leeway=LEEWAY_S,
                options={"require": ["exp", "sub", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token_expired", "the token has expired") from None
        except jwt.InvalidAudienceError:
            raise AuthError("invalid_audience", f"the token's audience must be {AUDIENCE!r}") from None
        except jwt.InvalidSignatureError:
            raise AuthError("invalid_signature", "the token's signature does not verify") from None
        except jwt.MissingRequiredClaimError as error:
            raise AuthError("malformed_token", f"the token has no {error.claim!r} claim") from None
        except jwt.InvalidTokenError as error:
            raise AuthError("malformed_token", f"the token is invalid: {error}") from None

    def _jwks(self) -> SyncGoTrueClient:
        from supabase_auth import SyncGoTrueClient

        with self._lock:
            if self._jwks_client is None:
                if not self._auth_url:
                    raise AuthError("unsupported_algorithm", "asymmetric tokens need SUPABASE_URL for its JWKS")
                self._jwks_client = SyncGoTrueClient(
                    url=self._auth_url, auto_refresh_token=False, persist_session=False
                )
            return self._jwks_client

    def _verify_jwks(self, token: str) -> dict[str, Any]:
        from supabase_auth.errors import AuthError as SupabaseAuthError

        try:
            header = jwt.get_unverified_header(token)
            if "kid" not in header:
                raise AuthError("unknown_key", "an asymmetric token must name its key ('kid')")
            response = self._jwks().get_claims(jwt=token)
        except SupabaseAuthError as error:
            text = str(error).lower()
            if "no expiration" in text:
                raise AuthError("malformed_token", "the token has no 'exp' claim") from None
            if "expired" in text:
                raise AuthError("token_expired", "the token has expired") from None
            if "signing key" in text or "kid" in text:
                raise AuthError("unknown_key", "no key in the project's JWKS matches the token") from None
            if "signature" in text:
                raise AuthError("invalid_signature", "the token's signature does not verify") from None
            raise AuthError("jwks_unavailable", "the project's signing keys could not be fetched") from None
        except AuthError:
            raise
        except Exception:  # a malformed key or token inside the library
            raise AuthError("invalid_signature", "the token's signature does not verify") from None
        if response is None:
            raise AuthError("malformed_token", "the token carries no claims")
        claims: dict[str, Any] = dict(response["claims"])
        audience = claims.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if AUDIENCE not in audiences:
            raise AuthError("invalid_audience", f"the token's audience must be {AUDIENCE!r}")
        if claims.get("nbf") and float(claims["nbf"]) > time.time() + LEEWAY_S:
            raise AuthError("malformed_token", "the token is not valid yet")
        return claims


# The one spelling of a user id that Python and Postgres's uuid cast read alike (Python alone also
# takes "urn:uuid:…", braces and no hyphens).
_USER_ID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
# An expiry past the year 9999 is not a time Python, JSON encoders or Postgres agree on.
MAX_EPOCH_S = 253_402_300_799


def _epoch(claims: dict[str, Any], name: str) -> float | None:
    """A NumericDate claim as a finite number in range, None when absent; AuthError otherwise."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise AuthError("malformed_token", f"the token's {name!r} is not a time")
    if not 0 <= value <= MAX_EPOCH_S:
        raise AuthError("malformed_token", f"the token's {name!r} is out of range")
    return float(value)


def _claims_to_token(claims: dict[str, Any]) -> VerifiedToken:
    """The claims checked to the types we use them as, before anything reads them."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not _USER_ID.fullmatch(subject):
        raise AuthError("malformed_token", "the token's 'sub' is not a user id")
    expires = _epoch(claims, "exp")
    if expires is None:
        raise AuthError("malformed_token", "the token has no 'exp' claim")
    for name in ("iat", "nbf"):
        _epoch(claims, name)
    role = claims.get("role")
    if role is not None and role != AUDIENCE:
        raise AuthError("invalid_audience", f"the token's role must be {AUDIENCE!r}")
    try:
        # The claims go to Postgres as JSON (request.jwt.claims, read back as jsonb): refuse what
        # it cannot hold, integers past 64 bits or a NUL, here rather than as a 500 mid-request.
        encoded = orjson.dumps(claims)
    except (orjson.JSONEncodeError, TypeError):
        raise AuthError("malformed_token", "the token's claims cannot be encoded as JSON") from None
    if b"\\u0000" in encoded:
        raise AuthError("malformed_token", "the token's claims hold a NUL character")
    return VerifiedToken(user_id=uuid.UUID(subject), expires_at=expires, claims=claims)


def mint_token(
    secret: str,
    user_id: uuid.UUID,
    *,
    email: str | None = None,
    ttl_s: int = 3600,
    now: float | None = None,
    app_role: str | None = DEFAULT_ADMIN_ROLE,
) -> str:
    """An HS256 access token shaped like Supabase's, for local use, scripts and tests.

    `app_role` goes in `app_metadata.role` (an admin by default); None mints a member's token.
    """
    issued = int(now if now is not None else time.time())
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "aud": AUDIENCE,
        "role": AUDIENCE,
        "iat": issued,
        "exp": issued + ttl_s,
        "iss": "honeydrip-local",
    }
    if email:
        claims["email"] = email
    claims["app_metadata"] = {"provider": "email", **({"role": app_role} if app_role else {})}
    return jwt.encode(claims, secret, algorithm="HS256")
