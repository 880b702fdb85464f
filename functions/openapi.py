"""The OpenAPI document at `/api/openapi.json`, generated from the pydantic models of every area.

Each area registers its operations here when imported (`register(...)` next to its routes); the
document imports every area in `functions.app.AREAS` first, so it always lists them all.
"""

from __future__ import annotations

import importlib
import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from flask import Blueprint
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from functions.lambda_adapter import lambda_handler

bp = Blueprint("openapi", __name__)
handler = lambda_handler(bp)

Method = Literal["get", "post", "put", "patch", "delete"]
# A response: a model, a ready JSON schema (with `contentMediaType` for a non-JSON body), or None
# for "no body" (204) / "any JSON object".
ResponseSpec = type[BaseModel] | dict[str, Any] | None

OPENAPI_VERSION = "3.1.0"
TITLE = "Honey Drip API"
API_VERSION = "1.0.0"
_PATH_PARAM = re.compile(r"{(\w+)}")

ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "field": {"type": ["string", "null"]},
            },
            "additionalProperties": True,
        }
    },
}
_ERROR_TEXT = {
    400: "The body is not JSON",
    401: "Missing, expired or invalid token",
    404: "Not found, or not yours",
    409: "Not allowed in the resource's current state",
    413: "Body over 64 KB",
    415: "The body is not application/json",
    422: "A field is invalid; `error.field` names it",
    503: "The database is unavailable",
}
HEADER_DOCS: dict[str, dict[str, Any]] = {
    "Idempotency-Key": {
        "description": "Retrying with the same key returns the first answer instead of acting twice.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    },
    "If-Match": {
        "description": "The trade `version` the client acted on; a newer version answers 409.",
        "schema": {"type": "string"},
    },
}


@dataclass(frozen=True)
class Operation:
    """One route as the document describes it."""

    method: Method
    path: str
    summary: str
    tag: str
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    responses: Mapping[int, ResponseSpec] = field(default_factory=dict)
    auth: bool = True
    headers: tuple[str, ...] = ()
    path_params: Mapping[str, dict[str, Any]] = field(default_factory=dict)
    errors: tuple[int, ...] = ()


_lock = threading.Lock()
_operations: dict[tuple[str, str], Operation] = {}


def register(
    method: Method,
    path: str,
    *,
    summary: str,
    tag: str,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    responses: Mapping[int, ResponseSpec] | None = None,
    auth: bool = True,
    headers: tuple[str, ...] = (),
    path_params: Mapping[str, dict[str, Any]] | None = None,
    errors: tuple[int, ...] = (),
) -> None:
    """Describe a route: `path` in OpenAPI form (`/api/trades/{trade_id}`), its models and statuses.

    `path_params` gives a schema per `{name}` (string when left out); `errors` lists the error
    statuses beyond those implied (401 with auth, 422 with a body or query, 404 with path params).
    """
    operation = Operation(
        method=method,
        path=path,
        summary=summary,
        tag=tag,
        body=body,
        query=query,
        responses=dict(responses or {200: None}),
        auth=auth,
        headers=headers,
        path_params=dict(path_params or {}),
        errors=errors,
    )
    with _lock:
        _operations[(method, path)] = operation


def operations() -> list[Operation]:
    """Every registered operation, by path then method."""
    with _lock:
        return sorted(_operations.values(), key=lambda op: (op.path, op.method))


def _load_all_areas() -> None:
    from functions.app import AREAS

    for name in AREAS:
        importlib.import_module(name)


def _query_parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    parameters = []
    properties = schemas.get("properties", {})
    required = set(schemas.get("required", []))
    for name, info in model.model_fields.items():
        key = info.alias or name
        parameters.append(
            {"name": key, "in": "query", "required": key in required, "schema": properties.get(key, {})}
        )
    return parameters


def _schemas_for(ops: list[Operation]) -> tuple[dict[tuple[Any, str], Any], dict[str, Any]]:
    inputs: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for op in ops:
        if op.body is not None:
            inputs.append((op.body, "validation"))
        if op.query is not None:
            inputs.append((op.query, "validation"))
        for spec in op.responses.values():
            if isinstance(spec, type) and issubclass(spec, BaseModel):
                inputs.append((spec, "serialization"))
    unique = list(dict.fromkeys(inputs))
    if not unique:
        return {}, {}
    mapping, top = models_json_schema(unique, ref_template="#/components/schemas/{model}")
    refs: dict[tuple[Any, str], Any] = {(model, str(mode)): schema for (model, mode), schema in mapping.items()}
    return refs, top.get("$defs", {})


def _resolve(schema: dict[str, Any], components: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref", "")
    name = ref.rsplit("/", 1)[-1] if ref.startswith("#/components/schemas/") else None
    return components.get(name, schema) if name else schema


def _response(spec: ResponseSpec, status: int, refs: dict[tuple[Any, str], Any]) -> dict[str, Any]:
    if status == 204:
        return {"description": "No content"}
    if isinstance(spec, dict) and "contentMediaType" in spec:
        # Not JSON (the gamma chart's PNG): the body is the bytes of that media type.
        media = str(spec["contentMediaType"])
        return {"description": "OK", "content": {media: {"schema": {"type": "string", "format": "binary"}}}}
    if spec is None:
        schema: dict[str, Any] = {"type": "object"}
    elif isinstance(spec, dict):
        schema = spec
    else:
        schema = refs[(spec, "serialization")]
    return {"description": "OK", "content": {"application/json": {"schema": schema}}}


def document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every registered route."""
    _load_all_areas()
    ops = operations()
    refs, components = _schemas_for(ops)
    components["Error"] = ERROR_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        entry: dict[str, Any] = {"summary": op.summary, "tags": [op.tag], "operationId": _operation_id(op)}
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": op.path_params.get(name, {"type": "string"})}
            for name in _PATH_PARAM.findall(op.path)
        ]
        if op.query is not None:
            parameters += _query_parameters(op.query, _resolve(refs[(op.query, "validation")], components))
        parameters += [{"name": h, "in": "header", "required": False, **HEADER_DOCS[h]} for h in op.headers]
        if parameters:
            entry["parameters"] = parameters
        if op.body is not None:
            entry["requestBody"] = {
                "required": True,
                "content": {"application/json": {"schema": refs[(op.body, "validation")]}},
            }
        responses = {str(status): _response(spec, status, refs) for status, spec in op.responses.items()}
        for status in _error_statuses(op):
            responses.setdefault(
                str(status),
                {
                    "description": _ERROR_TEXT.get(status, "Error"),
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
                },
            )
        entry["responses"] = responses
        if op.auth:
            entry["security"] = [{"bearerAuth": []}]
        paths.setdefault(op.path, {})[op.method] = entry
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": TITLE, "version": API_VERSION},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


def _error_statuses(op: Operation) -> list[int]:
    statuses = set(op.errors) | {503}
    if op.auth:
        statuses.add(401)
    if op.body is not None:
        statuses |= {400, 413, 415, 422}
    if op.query is not None:
        statuses.add(422)
    if _PATH_PARAM.search(op.path):
        statuses.add(404)
    return sorted(statuses)


def _operation_id(op: Operation) -> str:
    words = re.sub(r"[{}]", "", op.path.removeprefix("/api/")).replace("/", "_").replace("-", "_")
    return f"{op.method}_{words}"


_cached: dict[str, Any] | None = None


@bp.get("/api/openapi.json")
def openapi_json() -> dict[str, Any]:
    """The document; built once per process (the routes cannot change while it runs)."""
    global _cached
    if _cached is None:
        _cached = document()
    return _cached


register(
    "get",
    "/api/openapi.json",
    summary="This OpenAPI document",
    tag="meta",
    auth=False,
    responses={200: {"type": "object"}},
)
