"""GET /api/openapi.json: the document of every area, built from the URL map (functions/web/openapi.py)."""

from __future__ import annotations

import threading
from typing import Any

from flask import Blueprint
from pydantic import BaseModel, ConfigDict

from functions.web.openapi import document, operation

bp = Blueprint("openapi", __name__)

_lock = threading.Lock()
_cached: dict[str, Any] | None = None


def whole_api_document() -> dict[str, Any]:
    """The document of the app holding every area (a Lambda serves one area, the document all)."""
    global _cached
    with _lock:
        if _cached is None:
            from functions.api import all_blueprints
            from functions.web.app import create_app

            _cached = document(create_app(all_blueprints()))
        return _cached


class OpenApiDocument(BaseModel):
    """An OpenAPI 3.1 document (its parts are described by the OpenAPI specification itself)."""

    model_config = ConfigDict(defer_build=True)

    openapi: str
    info: dict[str, Any]
    paths: dict[str, Any]
    components: dict[str, Any]


@bp.get("/api/openapi.json")
@operation(summary="This OpenAPI document", tag="meta", response=OpenApiDocument, auth=False)
def openapi_json() -> OpenApiDocument:
    """The document; built once per process (the routes cannot change while it runs)."""
    return OpenApiDocument.model_validate(whole_api_document())

