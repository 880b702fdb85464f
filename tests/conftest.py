"""Shared fixtures: a real Postgres per test session, settings, tokens, the app over real HTTP."""

from __future__ import annotations

import os

# Before anything reads settings: a developer's .env must never leak into the tests.
os.environ["HONEYDRIP_IGNORE_ENV_FILES"] = "1"

import secrets
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psycopg
import pytest
from flask import Flask
from flask.testing import FlaskClient
from psycopg import sql
from werkzeug.serving import BaseWSGIServer, make_server

from shared.auth import VerifiedToken, mint_token
from shared.config import Settings, get_settings
from shared.db import reset_for_tests
from shared.db.embedded import REPO_ROOT, start_embedded
from shared.db.migrations import migrate
from tests.fakes.massive_rest_fixtures import massive, massive_env, rest, sleeps
from tests.scratch_database import scratch_database
from tests.session_clock import database_clock

TEST_JWT_SECRET = "test-jwt-secret-" + secrets.token_hex(32)
MakeToken = Callable[..., tuple[str, VerifiedToken]]
# The fake Massive REST server and a client on it, for every suite that runs a job.
__all__ = ["massive", "massive_env", "rest", "sleeps"]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--database-tests-only", action="store_true",
        help="run only the tests that reach Postgres (make test-server-db: the rest ran in make test already)",
    )  # fmt: skip


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("--database-tests-only"):
        return
    # A test reaches Postgres through the session's server (every database fixture depends on it).
    reach = {id(item) for item in items if "postgres_admin_url" in getattr(item, "fixturenames", ())}
    config.hook.pytest_deselected(items=[item for item in items if id(item) not in reach])
    items[:] = [item for item in items if id(item) in reach]


@pytest.fixture(scope="session")
def postgres_admin_url(pytestconfig: pytest.Config) -> str:
    """A superuser URL on the test server (DATABASE_URL's server, or the embedded one)."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        return configured
    with database_clock(pytestconfig) as folder:
        return start_embedded(folder or REPO_ROOT / ".local" / "pgtest")


@pytest.fixture(scope="session")
def database_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh database for this test session, with every migration applied; dropped afterwards."""
    with scratch_database(postgres_admin_url, "hd_test") as url:
        with psycopg.connect(url) as conn:
            migrate(conn)
        yield url
        reset_for_tests()


@pytest.fixture(scope="session", autouse=True)
def _test_environment(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test sees the test JWT secret; database tests also get DATABASE_URL (see `settings`)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SUPABASE_JWT_SECRET", TEST_JWT_SECRET)
        patch.setenv("LOG_FORMAT", "text")
        for name in ("SUPABASE_URL", "ALERT_QUEUE_URL", "MASSIVE_API_KEY", "WEB_ORIGIN"):
            patch.delenv(name, raising=False)
        get_settings.cache_clear()
        yield
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def _database_env(database_url: str) -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DATABASE_URL", database_url)
        get_settings.cache_clear()
        reset_for_tests()
        yield
    get_settings.cache_clear()
    reset_for_tests()


@pytest.fixture
def settings(_database_env: None) -> Settings:
    """Settings pointing at the session's test database, with the test JWT secret."""
    return get_settings()


# Configuration the migrations seed, which every test needs as it is.
_KEPT_TABLES = ("admin_roles",)
# Tests' own SQL names our tables unqualified; the app's transactions set their own search_path.
OUR_SEARCH_PATH = "-c search_path=honeydrip"


def _our_tables(conn: psycopg.Connection[Any]) -> list[str]:
    rows = conn.execute(
        "select tablename from pg_tables where schemaname = 'honeydrip' and not tablename = any(%s)"
        " order by tablename",
        (list(_KEPT_TABLES),),
    ).fetchall()
    return [row[0] for row in rows]


@pytest.fixture
def db(database_url: str, _database_env: None) -> Iterator[psycopg.Connection[Any]]:
    """An emptied test database: every table of ours truncated; yields a superuser connection.

    The connection's search_path is `honeydrip`, so tests name our tables unqualified.
    """
    with psycopg.connect(database_url, autocommit=True, options=OUR_SEARCH_PATH) as conn:
        tables = _our_tables(conn)
        if tables:
            conn.execute(
                sql.SQL("truncate {} restart identity cascade").format(
                    sql.SQL(", ").join(sql.Identifier("honeydrip", t) for t in tables)
                )
            )
        yield conn


@pytest.fixture
def make_token() -> MakeToken:
    """`make_token(user_id=None, email=None, ttl_s=3600, member=False)` → (token, its verified claims).

    An admin's token unless `member` (a signed-in user whose app_metadata carries no admin role).
    """

    def _make(
        user_id: uuid.UUID | None = None,
        *,
        email: str | None = None,
        ttl_s: int = 3600,
        member: bool = False,
        **_: Any,
    ) -> tuple[str, VerifiedToken]:
        user = user_id or uuid.uuid4()
        token = mint_token(TEST_JWT_SECRET, user, email=email, ttl_s=ttl_s, app_role=None if member else "admin")
        from shared.auth import TokenVerifier

        return token, TokenVerifier(TEST_JWT_SECRET, None).verify(token)

    return _make


@dataclass(frozen=True)
class Admin:
    """A signed-in admin: their token, its verified claims, and request headers."""

    token: str
    verified: VerifiedToken

    @property
    def user_id(self) -> uuid.UUID:
        return self.verified.user_id

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def admin(make_token: MakeToken) -> Admin:
    return Admin(*make_token())


@pytest.fixture
def other_admin(make_token: MakeToken) -> Admin:
    return Admin(*make_token())


@pytest.fixture
def member(make_token: MakeToken) -> Admin:
    """A signed-in user of the same Supabase project who is not an admin."""
    return Admin(*make_token(member=True))


@pytest.fixture
def app(settings: Settings, db: psycopg.Connection[Any]) -> Flask:
    """The whole API over an emptied test database."""
    from functions.api import all_blueprints
    from functions.web.app import create_app

    application = create_app(all_blueprints())
    application.testing = True
    return application


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@dataclass
class LiveServer:
    url: str
    server: BaseWSGIServer


@pytest.fixture
def api_server(app: Flask) -> Iterator[LiveServer]:
    """The app served over real HTTP on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), name="api-server", daemon=True)
    thread.start()
    yield LiveServer(url=f"http://127.0.0.1:{server.server_port}", server=server)
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def bearer(token: str) -> dict[str, str]:
    """Headers carrying `token` the way the web client sends it."""
    return {"Authorization": f"Bearer {token}"}


def repo_path(*parts: str) -> Path:
    return REPO_ROOT.joinpath(*parts)
