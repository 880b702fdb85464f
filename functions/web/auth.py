"""`@requires_user`: the admin's bearer token verified locally before the handler runs."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import ParamSpec, TypeVar

from flask import g, request

from functions.web.errors import Unauthorized
from shared.auth import AuthError, TokenVerifier, VerifiedToken, bearer_token
from shared.config import get_settings

P = ParamSpec("P")
R = TypeVar("R")


@lru_cache(maxsize=1)
def verifier() -> TokenVerifier:
    """The process's verifier (its JWKS cache lives as long as the container)."""
    return TokenVerifier.from_settings(get_settings())


def authenticate() -> VerifiedToken:
    """Verify the request's bearer token or raise 401 naming the reason."""
    try:
        return verifier().verify(bearer_token(request.headers.get("Authorization")))
    except AuthError as error:
        raise Unauthorized(
            error.message, code=error.reason, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from None


def requires_user(view: Callable[P, R]) -> Callable[P, R]:
    """Run `view` only for a request carrying a valid admin token."""

    @wraps(view)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        g.user = authenticate()
        return view(*args, **kwargs)

    return wrapper


def current_user() -> VerifiedToken:
    """The verified token of the request being served (inside `@requires_user`)."""
    user: VerifiedToken = g.user
    return user
