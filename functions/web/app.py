"""The Flask app factory: every area's blueprint, JSON errors, CORS for WEB_ORIGIN, a body limit."""

from __future__ import annotations

import logging
from typing import Any

import psycopg
from flask import Blueprint, Flask, Response, request
from psycopg_pool import PoolTimeout
from werkzeug.exceptions import HTTPException

from functions.web import path_ids
from functions.web.errors import ApiError
from functions.web.strict_json import StrictJSONProvider
from shared.config import get_settings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_CORS_METHODS = "GET, POST, PATCH, PUT, DELETE, OPTIONS"
_CORS_HEADERS = "Authorization, Content-Type, Idempotency-Key, If-Match"

# Werkzeug's own errors, mapped to our codes so clients never see an HTML page.
_HTTP_CODES = {
    400: "bad_request",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _json_error(status: int, code: str, message: str, field: str | None = None) -> tuple[dict[str, Any], int]:
    return {"error": {"code": code, "message": message, "field": field}}, status


def create_app(blueprints: list[Blueprint]) -> Flask:
    """An app serving `blueprints` (`functions.api.all_blueprints()` for every area)."""
    app = Flask("honeydrip")
    app.json = StrictJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = MAX_BODY_BYTES + 1
    path_ids.install(app)
    for blueprint in blueprints:
        app.register_blueprint(blueprint)

    @app.errorhandler(ApiError)
    def _api_error(error: ApiError) -> tuple[dict[str, Any], int, dict[str, str]]:
        return error.body(), error.status, error.headers

    @app.errorhandler(HTTPException)
    def _http_error(error: HTTPException) -> Any:
        status = error.code or 500
        if isinstance(error, path_ids.MalformedId):
            field = path_ids.parameter_name(app, error)
            return _json_error(404, "not_found", f"{field or 'path'}: {error.description}", field)
        if status == 413:
            return _json_error(413, "payload_too_large", f"request bodies are limited to {MAX_BODY_BYTES} bytes")
        if status == 404:
            return _json_error(404, "not_found", f"no route {request.method} {request.path[:200]}; see /api/docs")
        if status == 405:
            allowed = ", ".join(error.valid_methods or [])  # type: ignore[attr-defined]
            body, _ = _json_error(405, "method_not_allowed", f"{request.method} is not allowed here; use {allowed}")
            return body, 405, {"Allow": allowed}
        return _json_error(status, _HTTP_CODES.get(status, "http_error"), error.description or error.name)

    @app.errorhandler(psycopg.OperationalError)
    @app.errorhandler(PoolTimeout)
    def _database_down(error: Exception) -> tuple[dict[str, Any], int, dict[str, str]]:
        log.error("database unavailable", extra={"path": request.path, "error": type(error).__name__})
        body, status = _json_error(503, "database_unavailable", "the database cannot be reached; try again shortly")
        return body, status, {"Retry-After": "5"}

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> tuple[dict[str, Any], int]:
        log.exception("unhandled error", extra={"path": request.path, "method": request.method})
        return _json_error(500, "internal", "something went wrong on our side; it has been logged")

    def too_large() -> Response:
        body, status = _json_error(413, "payload_too_large", f"request bodies are limited to {MAX_BODY_BYTES} bytes")
        return app.response_class(app.json.dumps(body), status=status, mimetype="application/json")

    @app.before_request
    def _preflight_and_limits() -> Response | None:
        if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
            return too_large()
        # A chunked body has no Content-Length; Werkzeug stops reading it at the limit + 1
        # (MAX_CONTENT_LENGTH), so a body longer than the limit shows as one byte too many.
        chunked = request.content_length is None and request.method in _BODY_METHODS
        if chunked and len(request.get_data(cache=True)) > MAX_BODY_BYTES:
            return too_large()
        if request.method == "OPTIONS":
            return app.response_class(status=204)
        return None

    @app.after_request
    def _cors(response: Response) -> Response:
        origin = request.headers.get("Origin")
        allowed = get_settings().web_origin
        if origin and allowed and origin.rstrip("/") == allowed:
            response.headers["Access-Control-Allow-Origin"] = allowed
            response.headers["Access-Control-Allow-Methods"] = _CORS_METHODS
            response.headers["Access-Control-Allow-Headers"] = _CORS_HEADERS
            response.headers["Access-Control-Max-Age"] = "600"
        response.headers.add("Vary", "Origin")
        return response

    return app
