"""Who is an admin, over real HTTP: every route but health and docs refuses a member's token with 403.

The routes are read from the app's URL map, so a new area cannot be forgotten here.
"""

from __future__ import annotations

import contextlib
import io
import uuid
from typing import Any

import jwt
import psycopg
import pytest
import requests
from flask import Flask
from werkzeug.routing import Rule

from functions.__main__ import main as functions_main
from functions.web.openapi import ATTRIBUTE
from shared.admins import NOT_AN_ADMIN, app_role, is_admin
from shared.auth import TokenVerifier
from shared.config import get_settings
from tests.conftest import TEST_JWT_SECRET, Admin, LiveServer, MakeToken

# The only routes a signed-in non-admin (or anyone) may call: health and the documentation.
PUBLIC_ENDPOINTS = {
    "health.health",
    "docs.docs_page",
    "docs.docs_asset",
    "openapi.openapi_json",
}


def _routes(app: Flask) -> list[tuple[str, Rule]]:
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method, rule))
    return found


def _url(app: Flask, rule: Rule) -> str:
    values: dict[str, Any] = {}
    for name, converter in (rule._converters or {}).items():  # the rule's own converters
        try:
            converter.to_python("SPY")
            values[name] = "SPY"
        except Exception:  # an id converter (functions/path_ids.py): it takes UUIDs only
            values[name] = uuid.uuid4()
    adapter = app.url_map.bind("localhost")
    return adapter.build(rule.endpoint, values)


def _call(server: LiveServer, method: str, path: str, headers: dict[str, str]) -> requests.Response:
    body: dict[str, Any] | None = {} if method in ("POST", "PUT", "PATCH") else None
    return requests.request(method, server.url + path, headers=headers, json=body, timeout=10)


def test_the_public_routes_are_health_and_the_docs_only(app: Flask) -> None:
    public = {
        rule.endpoint for _, rule in _routes(app) if not getattr(app.view_functions[rule.endpoint], ATTRIBUTE).auth
    }
    assert public == PUBLIC_ENDPOINTS


def test_every_other_route_refuses_a_members_token_with_403_not_an_admin(
    app: Flask, api_server: LiveServer, member: Admin
) -> None:
    checked = []
    for method, rule in _routes(app):
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        response = _call(api_server, method, _url(app, rule), member.headers)
        assert response.status_code == 403, (method, rule.rule, response.text)
        assert response.json()["error"]["code"] == NOT_AN_ADMIN, (method, rule.rule)
        checked.append(rule.endpoint)
    # Every area of functions.api.AREAS has routes, the challenges among them.
    assert {"challenges.create_challenge", "trades.create_trade", "watchlist.list_watchlist"} <= set(checked)


def test_every_other_route_still_refuses_no_token_with_401(app: Flask, api_server: LiveServer) -> None:
    for method, rule in _routes(app):
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        response = _call(api_server, method, _url(app, rule), {})
        assert response.status_code == 401, (method, rule.rule)


def test_every_route_accepts_an_admins_token(app: Flask, api_server: LiveServer, admin: Admin) -> None:
    for method, rule in _routes(app):
        response = _call(api_server, method, _url(app, rule), admin.headers)
        # Whatever the route says about the made-up ids and empty bodies, it is not about who asks.
        assert response.status_code not in (401, 403), (method, rule.rule, response.text)


def test_the_public_routes_answer_a_member(app: Flask, api_server: LiveServer, member: Admin) -> None:
    for path in ("/api/health", "/api/openapi.json", "/api/docs"):
        assert requests.get(api_server.url + path, headers=member.headers, timeout=10).status_code in (200, 503)


def test_admin_roles_is_a_setting(
    api_server: LiveServer, make_token: MakeToken, monkeypatch: pytest.MonkeyPatch, admin: Admin
) -> None:
    monkeypatch.setenv("ADMIN_ROLES", "owner, admin")
    get_settings.cache_clear()
    try:
        assert get_settings().admin_role_set == frozenset({"owner", "admin"})
        assert requests.get(api_server.url + "/api/watchlist", headers=admin.headers, timeout=10).status_code == 200
        monkeypatch.setenv("ADMIN_ROLES", "owner")
        get_settings.cache_clear()
        refused = requests.get(api_server.url + "/api/watchlist", headers=admin.headers, timeout=10)
        assert (refused.status_code, refused.json()["error"]["code"]) == (403, NOT_AN_ADMIN)
    finally:
        monkeypatch.delenv("ADMIN_ROLES")
        get_settings.cache_clear()


def test_the_role_is_read_from_app_metadata_only(make_token: MakeToken) -> None:
    _, admin = make_token()
    _, member = make_token(member=True)
    roles = frozenset({"admin"})
    assert (is_admin(admin, roles), is_admin(member, roles)) == (True, False)
    # user_metadata is the user's own to write (supabase.auth.updateUser): it never makes an admin.
    token = jwt.encode(
        {**member.claims, "user_metadata": {"role": "admin"}, "role": "authenticated"}, TEST_JWT_SECRET, "HS256"
    )
    assert not is_admin(TokenVerifier(TEST_JWT_SECRET, None).verify(token), roles)
    assert app_role({"app_metadata": "admin"}) is None
    assert app_role({"app_metadata": {"role": ["admin"]}}) is None


def _cli_token(*args: str) -> dict[str, Any]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert functions_main(["token", *args]) == 0
    claims: dict[str, Any] = jwt.decode(out.getvalue().strip(), TEST_JWT_SECRET, ["HS256"], audience="authenticated")
    return claims


def test_python_m_functions_token_mints_an_admin_and_member_a_non_admin() -> None:
    get_settings.cache_clear()
    assert _cli_token()["app_metadata"]["role"] == "admin"
    assert "role" not in _cli_token("--member")["app_metadata"]


def test_the_database_knows_the_same_admin_roles_as_the_default_setting(db: psycopg.Connection[Any]) -> None:
    # docs/admins.md: ADMIN_ROLES and honeydrip.admin_roles must hold the same roles.
    roles = {row[0] for row in db.execute("select role from honeydrip.admin_roles")}
    assert roles == set(get_settings().admin_role_set) == {"admin"}
