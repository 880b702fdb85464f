"""Request bodies and query strings parsed into pydantic models, with a 422 naming the bad field."""

from __future__ import annotations

from typing import Any, TypeVar

import orjson
from flask import request
from pydantic import BaseModel, ValidationError

from functions.errors import BadRequest, Unprocessable, UnsupportedMediaType

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
    message = first["msg"]
    return Unprocessable(f"{field}: {message}", field=field)


def json_body() -> Any:
    """The request's JSON, or 415/400 saying what is wrong with it."""
    if not request.mimetype or request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as application/json")
    raw = request.get_data(cache=True)
    if not raw:
        raise BadRequest("the request body is empty", field="body")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        raise BadRequest(f"the body is not valid JSON: {error}", field="body") from None


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
