"""`@requires_user`: the bearer token verified locally, and its holder an admin, before the handler runs."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache, wraps
from typing import ParamSpec, TypeVar

from flask import g, request

from functions.web.errors import Forbidden, Unauthorized
from shared.admins import NOT_AN_ADMIN, NOT_AN_ADMIN_MESSAGE, is_admin
from shared.auth import AuthError, TokenVerifier, VerifiedToken, bearer_token
from shared.config import get_settings

P = ParamSpec("P")
R = TypeVar("R")


@lru_cache(maxsize=1)
def verifier() -> TokenVerifier:
    """The process's verifier (its JWKS cache lives as long as the container)."""
    return TokenVerifier.from_settings(get_settings())


def authenticate() -> VerifiedToken:
    """Verify the request's bearer token or raise 401 naming the reason; 403 when not an admin's."""
    try:
        token = verifier().verify(bearer_token(request.headers.get("Authorization")))
    except AuthError as error:
        raise Unauthorized(
            error.message, code=error.reason, headers={"WWW-Authenticate": 'Bearer error="invalid_token"'}
        ) from None
    # Read per request, not cached with the verifier: tests and ops change ADMIN_ROLES.
    if not is_admin(token, get_settings().admin_role_set):
        raise Forbidden(NOT_AN_ADMIN_MESSAGE, code=NOT_AN_ADMIN)
    return token


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
