"""Who is an admin: the token rule, the one rule the functions, the relay and Postgres all apply.

A user is an admin when their verified access token's `app_metadata.role` is one of
ADMIN_ROLES. Supabase copies `auth.users.raw_app_meta_data` into every access token it
issues, and only the service role (SQL, the dashboard, the admin API) can change it, so a user
cannot make themselves one. The database applies the same rule in `honeydrip.is_admin()`,
reading the claims each request transaction carries, against its `honeydrip.admin_roles`
table; docs/admins.md says why the two lists must match. No I/O here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.auth import DEFAULT_ADMIN_ROLE, AuthError, VerifiedToken

DEFAULT_ADMIN_ROLES = frozenset({DEFAULT_ADMIN_ROLE})
NOT_AN_ADMIN = "not_an_admin"
NOT_AN_ADMIN_MESSAGE = "this account is not an admin of this Honey Drip (its token's app_metadata.role)"


def app_role(claims: Mapping[str, Any]) -> str | None:
    """The token's `app_metadata.role`, when it is a string."""
    metadata = claims.get("app_metadata")
    if not isinstance(metadata, Mapping):
        return None
    role = metadata.get("role")
    return role if isinstance(role, str) else None


def is_admin(token: VerifiedToken, admin_roles: frozenset[str]) -> bool:
    """True when `token`'s app_metadata.role is one of `admin_roles`."""
    role = app_role(token.claims)
    return role is not None and role in admin_roles


class NotAnAdmin(AuthError):
    """A valid token of a user who is not an admin (HTTP 403, where a bad token is 401)."""

    def __init__(self) -> None:
        super().__init__(NOT_AN_ADMIN, NOT_AN_ADMIN_MESSAGE)


def require_admin(token: VerifiedToken, admin_roles: frozenset[str]) -> VerifiedToken:
    """`token` when its holder is an admin; NotAnAdmin otherwise."""
    if not is_admin(token, admin_roles):
        raise NotAnAdmin
    return token
