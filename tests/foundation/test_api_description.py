"""The API describes itself from its routes: every route in the document, every answer its model, a docs page."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from flask import Blueprint, Flask
from flask.testing import FlaskClient
from pydantic import BaseModel

from functions.web import openapi
from functions.web.app import create_app
from functions.web.openapi import UndocumentedRoute, document, routes
from tests.conftest import repo_path

_ANY_PARAM = re.compile(r"{\w+}")


def _documented(doc: dict[str, Any]) -> set[tuple[str, str]]:
    return {(method, path) for path, item in doc["paths"].items() for method in item}


def test_the_document_lists_exactly_the_routes_of_the_app(client: FlaskClient, app: Flask) -> None:
    served = {(method, path) for method, path, _ in routes(app)}
    doc = client.get("/api/openapi.json").get_json()
    assert _documented(doc) == served
    assert {("get", "/api/health"), ("get", "/api/watchlist"), ("get", "/api/alerts"), ("get", "/api/docs")} <= served


def test_every_json_answer_is_a_named_model_not_a_bare_object(client: FlaskClient) -> None:
    doc = client.get("/api/openapi.json").get_json()
    for path, item in doc["paths"].items():
        for method, entry in item.items():
            for status, answer in entry["responses"].items():
                schema = answer.get("content", {}).get("application/json", {}).get("schema")
                if schema is not None:
                    assert "$ref" in schema, f"{method} {path} {status} is {schema}"


def test_a_route_without_a_description_cannot_be_documented() -> None:
    extra = Blueprint("extra", __name__)

    @extra.get("/api/hidden")
    def hidden() -> dict[str, str]:
        return {}

    app = Flask("t")
    app.register_blueprint(extra)
    with pytest.raises(UndocumentedRoute, match="/api/hidden"):
        document(app)


def test_a_view_answering_another_model_than_its_description_is_a_server_error() -> None:
    class Promised(BaseModel):
        a: int

    class Other(BaseModel):
        b: int

    extra = Blueprint("extra", __name__)

    @extra.get("/api/liar")
    @openapi.operation(summary="lies", tag="t", response=Promised, auth=False)
    def liar() -> Other:
        return Other(b=1)

    @extra.get("/api/bad-dict")
    @openapi.operation(summary="bad dict", tag="t", response=Promised, auth=False)
    def bad_dict() -> dict[str, str]:
        return {"a": "not a number"}

    client = create_app([extra]).test_client()
    assert client.get("/api/liar").status_code == 500
    assert client.get("/api/bad-dict").status_code == 500


def test_serverless_routes_every_documented_path_to_a_function(app: Flask) -> None:
    config = yaml.safe_load(repo_path("serverless.yml").read_text())
    events = {
        _ANY_PARAM.sub("{}", event["httpApi"])
        for function in config["functions"].values()
        for event in function.get("events", [])
        if "httpApi" in event
    }
    served = {_ANY_PARAM.sub("{}", f"{method.upper()} {path}") for method, path, _ in routes(app)}
    assert served == events


def test_the_docs_page_is_served_with_every_asset_from_this_api(client: FlaskClient) -> None:
    page = client.get("/api/docs")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    html = page.get_data(as_text=True)
    sources = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert sources and all(source.startswith("/api/docs/") for source in sources)
    assert "http" not in html
    for source in sources:
        asset = client.get(source)
        assert asset.status_code == 200, source
        assert asset.data
    script = client.get("/api/docs/start.js").get_data(as_text=True)
    assert '"/api/openapi.json"' in script
    assert "SwaggerUIBundle" in client.get("/api/docs/swagger-ui-bundle.js").get_data(as_text=True)[:200_000]


def test_an_unknown_docs_asset_is_a_json_404(client: FlaskClient) -> None:
    response = client.get("/api/docs/index.html")
    assert response.status_code == 404
    assert response.get_json()["error"]["field"] == "asset"


def test_every_docs_asset_answers_with_a_content_type_the_document_lists(client: FlaskClient) -> None:
    from functions.api.docs import ASSETS

    doc = client.get("/api/openapi.json").get_json()
    listed = set(doc["paths"]["/api/docs/{asset}"]["get"]["responses"]["200"]["content"])
    for asset in (*ASSETS, "start.js"):
        assert client.get(f"/api/docs/{asset}").mimetype in listed, asset
