"""Request bodies and query strings parsed into pydantic models, with a 422 naming the bad field."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from flask import request
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from functions.web.errors import BadRequest, Unprocessable, UnsupportedMediaType

Model = TypeVar("Model", bound=BaseModel)


def field_path(location: tuple[int | str, ...]) -> str:
    """`("alert", "prices", "entry")` → `alert.prices.entry`; list indexes as `[0]`."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def unprocessable(error: ValidationError) -> Unprocessable:
    """The first validation problem as a 422 naming its field."""
    first = error.errors(include_url=False)[0]
    # Pydantic adds the failing union member or validator name to the location; keep the data path.
    location = tuple(p for p in first["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    field = field_path(location)
    return Unprocessable(f"{field}: {message_of(first)}", field=field)


def message_of(error: ErrorDetails) -> str:
    """Pydantic's message, without the "Value error, " it puts before our validators' own words."""
    raised = (error.get("ctx") or {}).get("error")
    if error["type"] in ("value_error", "assertion_error") and raised is not None and str(raised):
        return str(raised)
    return error["msg"]


def _nul_location(data: Any) -> tuple[int | str, ...] | None:
    """Where a string (or object key) holding U+0000 is, or None; iterative, so depth is no risk."""
    stack: list[tuple[tuple[int | str, ...], Any]] = [((), data)]
    while stack:
        location, value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value:
                return location
        elif isinstance(value, dict):
            for key, item in value.items():
                if "\x00" in key:
                    return location
                stack.append(((*location, key), item))
        elif isinstance(value, list):
            stack.extend(((*location, index), item) for index, item in enumerate(value))
    return None


def json_body() -> Any:
    """The request's JSON, or 415/400 saying what is wrong with it (422 for text Postgres cannot store)."""
    if not request.mimetype or request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    raw = request.get_data(cache=True)
    if not raw:
        raise BadRequest("the request body is empty", field="body")
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"the body is not valid JSON: {error}", field="body") from None
    # Postgres text and jsonb cannot hold U+0000; refuse it here rather than fail in the database.
    location = _nul_location(data)
    if location is not None:
        field = field_path(location)
        raise Unprocessable(f"{field}: text must not contain the NUL character (\\u0000)", field=field)
    return data


def parse_body(model: type[Model]) -> Model:
    """The JSON body validated as `model`; 422 naming the first bad field."""
    data = json_body()
    if not isinstance(data, dict):
        raise Unprocessable("the body must be a JSON object", field="body")
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise unprocessable(error) from None


def parse_query(model: type[Model]) -> Model:
    """The query string validated as `model`; 422 naming the first bad parameter."""
    try:
        return model.model_validate(request.args.to_dict())
    except ValidationError as error:
        raise unprocessable(error) from None
