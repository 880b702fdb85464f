"""Each area deployed as its own Lambda: API Gateway HTTP API (payload 2.0) events in, JSON out."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask

from functions.api import AREAS, handlers
from functions.api.handlers import health, watchlist
from functions.web.lambda_adapter import AreaHandler
from tests.conftest import Admin


def http_api_event(
    method: str, path: str, *, headers: dict[str, str] | None = None, body: Any = None
) -> dict[str, Any]:
    """An API Gateway v2 event as AWS sends it for `method path`."""
    lowered = {k.lower(): v for k, v in (headers or {}).items()}
    if body is not None:
        lowered["content-type"] = "application/json"
    return {
        "version": "2.0",
        "routeKey": f"{method} {path}",
        "rawPath": path,
        "rawQueryString": "",
        "headers": {"host": "api.example.test", "user-agent": "pytest", **lowered},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api",
            "domainName": "api.example.test",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.9"},
            "requestId": "request-1",
            "routeKey": f"{method} {path}",
            "stage": "$default",
            "timeEpoch": 0,
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


@pytest.fixture(autouse=True)
def _database(app: Flask) -> None:
    """The handlers build their own app; `app` just prepares the emptied test database."""


def test_the_health_lambda_answers_an_http_api_event() -> None:
    response = health(http_api_event("GET", "/api/health"), None)
    assert response["statusCode"] == 200
    assert json.loads(response["body"])["status"] == "ok"


def test_the_watchlist_lambda_serves_its_routes_with_the_admins_token(admin: Admin) -> None:
    added = watchlist(
        http_api_event("POST", "/api/watchlist", headers=admin.headers, body={"symbol": "spy"}), None
    )
    assert added["statusCode"] == 201
    listed = watchlist(http_api_event("GET", "/api/watchlist", headers=admin.headers), None)
    assert [item["symbol"] for item in json.loads(listed["body"])["items"]] == ["SPY"]


def test_a_lambda_refuses_a_request_without_a_token() -> None:
    response = watchlist(http_api_event("GET", "/api/watchlist"), None)
    assert response["statusCode"] == 401
    assert json.loads(response["body"])["error"]["code"] == "missing_token"


def test_a_lambda_serves_only_its_own_area(admin: Admin) -> None:
    response = health(http_api_event("GET", "/api/watchlist", headers=admin.headers), None)
    assert response["statusCode"] == 404
    assert json.loads(response["body"])["error"]["code"] == "not_found"


def test_the_docs_lambda_serves_the_page_and_its_scripts() -> None:
    from functions.api.handlers import docs

    page = docs(http_api_event("GET", "/api/docs"), None)
    assert (page["statusCode"], page["headers"]["content-type"].split(";")[0]) == (200, "text/html")
    script = docs(http_api_event("GET", "/api/docs/swagger-ui-bundle.js"), None)
    assert script["statusCode"] == 200
    assert len(script["body"]) > 100_000


def test_the_openapi_lambda_documents_every_area_not_only_its_own() -> None:
    from functions.api.handlers import openapi

    response = openapi(http_api_event("GET", "/api/openapi.json"), None)
    paths = json.loads(response["body"])["paths"]
    assert {"/api/health", "/api/watchlist", "/api/trades", "/api/alerts", "/api/docs"} <= set(paths)


def test_every_area_has_its_lambda_handler_and_every_handler_an_area() -> None:
    named = {h.area for h in vars(handlers).values() if isinstance(h, AreaHandler)}
    assert named == set(AREAS)


def test_every_handler_is_named_as_serverless_names_it() -> None:
    from deploy.service import load_service

    ours = {h.name for h in vars(handlers).values() if isinstance(h, AreaHandler)}
    assert ours == {f.handler for f in load_service().functions if f.serves_requests}
