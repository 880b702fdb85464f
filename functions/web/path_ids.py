"""Ids in URL paths: a segment that is not a UUID is a JSON 404 naming the parameter, not Flask's page."""

from __future__ import annotations

import re
import uuid

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.routing import BaseConverter

# Only the hyphenated form: Python's UUID() also reads "urn:uuid:…", braces and bare hex.
_CANONICAL = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


class MalformedId(NotFound):
    """A path segment where an id belongs that is not one; `converter` tells which parameter."""

    def __init__(self, value: str, converter: BaseConverter) -> None:
        super().__init__(f"{value[:60]!r} is not an id (ids are UUIDs)")
        self.converter = converter


class IdConverter(BaseConverter):
    """`<uuid:name>` that matches any one segment, so a malformed id reaches our 404 with its name."""

    regex = r"[^/]+"
    part_isolating = True

    def to_python(self, value: str) -> uuid.UUID:
        if not _CANONICAL.fullmatch(value):
            raise MalformedId(value, self)
        return uuid.UUID(value)

    def to_url(self, value: object) -> str:
        return str(value)


def install(app: Flask) -> None:
    """Make `<uuid:…>` our converter; call before any blueprint is registered."""
    app.url_map.converters["uuid"] = IdConverter


def parameter_name(app: Flask, error: MalformedId) -> str | None:
    """The name of the path parameter whose converter refused the segment."""
    for rule in app.url_map.iter_rules():
        for name, converter in rule._converters.items():
            if converter is error.converter:
                return name
    return None
