"""The OpenAPI registry (`@operation`) and the document it builds from the app's routes (served at /api/openapi.json).

Every view carries its description (`@operation(...)`, under the route decorator): the document
walks the URL map of the app holding every area, so a route without a description fails the
document (and its test) instead of going unlisted. Each description names the pydantic model the
view returns; the decorator refuses to answer with anything else, so the document cannot drift
from the answers.

Why our own registry and not flask-openapi3, APIFlask or spectree: the bodies, queries and
answers were already pydantic models, validated by `functions.web.requests` with our own 422s; those
libraries would replace that validation and its messages (or the Flask class itself) to get the
same document. The page at `/api/docs` is Swagger UI from the `swagger-ui-bundle-v2` package,
served from this API (functions/api/docs.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Any, Literal, ParamSpec

from flask import Flask, Response, current_app
from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema
from werkzeug.routing import Rule

from functions.web.path_ids import IdConverter

P = ParamSpec("P")
Method = Literal["get", "post", "put", "patch", "delete"]

OPENAPI_VERSION = "3.1.0"
TITLE = "Honey Drip API"
API_VERSION = "1.0.0"
ATTRIBUTE = "__openapi__"
_RULE_PARAM = re.compile(r"<(?:([a-zA-Z_]+)(?:\([^)]*\))?:)?([a-zA-Z_][a-zA-Z0-9_]*)>")

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
    403: "Signed in but not an admin (`not_an_admin`)",
    404: "Not found, or not yours",
    409: "Not allowed in the resource's current state",
    413: "Body over 64 KB",
    415: "The body is not application/json",
    422: "A field is invalid; `error.field` names it",
    503: "The database (or Discord) is unavailable",
}
HEADER_DOCS: dict[str, dict[str, Any]] = {
    "Idempotency-Key": {
        "description": "Retrying with the same key returns the first answer instead of acting twice.",
        "schema": {"type": "string", "minLength": 1, "maxLength": 255},
    },
    "If-None-Match": {
        "description": "The ETag of the copy the client holds; 304 when it is still current.",
        "schema": {"type": "string"},
    },
    "If-Match": {
        "description": "The trade `version` the client acted on; a newer version answers 409.",
        "schema": {"type": "string"},
    },
}


class UndocumentedRoute(Exception):
    """A route in the URL map whose view carries no `@operation`."""


class WrongAnswer(TypeError):
    """A view answered with something other than the model its `@operation` names."""


@dataclass(frozen=True)
class Operation:
    """What the document says about one view."""

    summary: str
    tag: str
    response: type[BaseModel] | None
    status: int = 200
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    auth: bool = True
    headers: tuple[str, ...] = ()
    errors: tuple[int, ...] = ()
    # For views that answer something other than JSON (the documentation page and its assets): one
    # media type, or each of those the view may answer with.
    content_type: str | tuple[str, ...] = "application/json"
    # Other statuses the same model answers with (health: 503 when the database is down).
    also: tuple[int, ...] = ()


def _json_response(value: Any, status: int, headers: Mapping[str, str]) -> Response:
    response = current_app.response_class(
        current_app.json.dumps(value), status=status, mimetype="application/json"
    )
    response.headers.update(dict(headers))
    return response


def _answer(op: Operation, result: Any) -> Any:
    """The view's result checked against `op.response` and made a response."""
    if isinstance(result, Response) or op.content_type != "application/json":
        return result
    body, status, headers = result, op.status, {}
    if isinstance(result, tuple):
        body, *rest = result
        for part in rest:
            if isinstance(part, int):
                status = part
            else:
                headers = dict(part)
    if body is None or body == "":
        return current_app.response_class(status=status, headers=headers)
    if op.response is None:
        raise WrongAnswer(f"{op.summary!r} is documented as answering no body")
    if isinstance(body, op.response):
        return _json_response(body.model_dump(mode="json"), status, headers)
    if isinstance(body, dict):
        # A stored answer replayed (Idempotency-Key) or a view built as a dict: it must still be
        # exactly what the model describes.
        op.response.model_validate(body)
        return _json_response(body, status, headers)
    raise WrongAnswer(f"{op.summary!r} answered {type(body).__name__}, not {op.response.__name__}")


def operation(
    *,
    summary: str,
    tag: str,
    response: type[BaseModel] | None,
    status: int = 200,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    auth: bool = True,
    headers: tuple[str, ...] = (),
    errors: tuple[int, ...] = (),
    content_type: str | tuple[str, ...] = "application/json",
    also: tuple[int, ...] = (),
) -> Callable[[Callable[P, Any]], Callable[P, Any]]:
    """Describe a view (place it under `@bp.get(...)`): what it takes, what model it answers with.

    `errors` lists error statuses beyond those implied (401 and 403 with auth, 400/413/415/422 with a
    body, 422 with a query or documented headers, 404 with path parameters, 503 always).
    """
    op = Operation(summary, tag, response, status, body, query, auth, headers, errors, content_type, also)

    def decorate(view: Callable[P, Any]) -> Callable[P, Any]:
        @wraps(view)
        def wrapper(*args: P.args, **kwargs: P.kwargs) -> Any:
            return _answer(op, view(*args, **kwargs))

        setattr(wrapper, ATTRIBUTE, op)
        return wrapper

    return decorate


def described(view: Callable[..., Any]) -> Operation | None:
    """The operation a view was described with, if any."""
    found = getattr(view, ATTRIBUTE, None)
    return found if isinstance(found, Operation) else None


# ---------------------------------------------------------------------------------------------
# The document
# ---------------------------------------------------------------------------------------------


def openapi_path(rule: Rule) -> str:
    """`/api/trades/<uuid:trade_id>` → `/api/trades/{trade_id}`."""
    return _RULE_PARAM.sub(lambda match: "{" + match.group(2) + "}", rule.rule)


def routes(app: Flask) -> list[tuple[str, str, Rule]]:
    """Every (method, OpenAPI path, rule) the app serves, HEAD and OPTIONS aside."""
    found = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            found.append((method.lower(), openapi_path(rule), rule))
    return sorted(found, key=lambda item: (item[1], item[0]))


def _path_schema(rule: Rule, name: str) -> dict[str, Any]:
    converter = rule._converters.get(name)
    if isinstance(converter, IdConverter):
        return {"type": "string", "format": "uuid"}
    return {"type": "string"}


def _schemas(ops: list[Operation]) -> tuple[dict[tuple[Any, str], Any], dict[str, Any]]:
    inputs: list[tuple[type[BaseModel], JsonSchemaMode]] = []
    for op in ops:
        if op.body is not None:
            inputs.append((op.body, "validation"))
        if op.query is not None:
            inputs.append((op.query, "validation"))
        if op.response is not None:
            inputs.append((op.response, "serialization"))
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


def _query_parameters(model: type[BaseModel], schema: dict[str, Any]) -> list[dict[str, Any]]:
    properties = schema.get("properties", {})
    required = set(schema.get("required", []))
    parameters = []
    for name, info in model.model_fields.items():
        key = info.alias or name
        parameters.append(
            {"name": key, "in": "query", "required": key in required, "schema": properties.get(key, {})}
        )
    return parameters


def _success(op: Operation, refs: dict[tuple[Any, str], Any]) -> dict[str, Any]:
    answers: dict[str, Any] = {}
    for status in (op.status, *op.also):
        if status == 304:
            answers["304"] = {"description": "Not Modified: the copy named by If-None-Match is current"}
        elif op.response is None and op.content_type == "application/json":
            answers[str(status)] = {"description": "No content"}
        elif op.response is None:
            types = (op.content_type,) if isinstance(op.content_type, str) else op.content_type
            answers[str(status)] = {"description": "OK", "content": {t: {"schema": {"type": "string"}} for t in types}}
        else:
            schema = refs[(op.response, "serialization")]
            answers[str(status)] = {"description": "OK", "content": {"application/json": {"schema": schema}}}
    return answers


def _error_statuses(op: Operation, path: str) -> list[int]:
    statuses = set(op.errors) | {503}
    if op.auth:
        statuses |= {401, 403}
    if op.body is not None:
        statuses |= {400, 413, 415, 422}
    if op.query is not None or op.headers:
        statuses.add(422)
    if "{" in path:
        statuses.add(404)
    return sorted(statuses - {op.status, *op.also})


def _operation_id(method: str, path: str) -> str:
    words = re.sub(r"[{}]", "", path.removeprefix("/api/")).replace("/", "_").replace("-", "_")
    return f"{method}_{words}"


def document(app: Flask) -> dict[str, Any]:
    """The OpenAPI 3.1 document of every route `app` serves; UndocumentedRoute names any left out."""
    found = routes(app)
    ops: list[Operation] = []
    for method, path, rule in found:
        op = described(app.view_functions[rule.endpoint])
        if op is None:
            raise UndocumentedRoute(f"{method.upper()} {path} ({rule.endpoint}) has no @operation")
        ops.append(op)
    refs, components = _schemas(ops)
    components["Error"] = ERROR_SCHEMA
    paths: dict[str, dict[str, Any]] = {}
    for (method, path, rule), op in zip(found, ops, strict=True):
        entry: dict[str, Any] = {"summary": op.summary, "tags": [op.tag], "operationId": _operation_id(method, path)}
        parameters: list[dict[str, Any]] = [
            {"name": name, "in": "path", "required": True, "schema": _path_schema(rule, name)}
            for name in re.findall(r"{(\w+)}", path)
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
        responses = _success(op, refs)
        for status in _error_statuses(op, path):
            responses[str(status)] = {
                "description": _ERROR_TEXT.get(status, "Error"),
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
            }
        entry["responses"] = dict(sorted(responses.items()))
        if op.auth:
            entry["security"] = [{"bearerAuth": []}]
        paths.setdefault(path, {})[method] = entry
    return {
        "openapi": OPENAPI_VERSION,
        "info": {"title": TITLE, "version": API_VERSION},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
    }


