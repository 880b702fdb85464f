"""The app's JSON provider: strict JSON out of every route, whatever a row or a figure holds.

Python's `json` writes `NaN` and `Infinity`, which are not JSON: a browser's `JSON.parse`
rejects the whole answer, so one impossible number breaks a chart for every admin. Here such a
value becomes `null` (and is logged once per answer, naming where it was), so the answer stays
valid and the rest of it usable. The database refuses these values (migration 0013); this is
the last line, for whatever a computation or an older row still produces.
"""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from flask.json.provider import DefaultJSONProvider

log = logging.getLogger(__name__)


def finite_or_null(value: Any, where: list[str], path: str = "$") -> Any:
    """`value` with every non-finite float replaced by None; `where` collects the paths replaced."""
    if isinstance(value, float):
        if math.isfinite(value):
            return value
        where.append(path)
        return None
    if isinstance(value, dict):
        return {key: finite_or_null(item, where, f"{path}.{key}") for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_null(item, where, f"{path}[{i}]") for i, item in enumerate(value)]
    return value


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's provider, but `NaN` and `±Infinity` go out as `null`: every answer parses as JSON."""

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        kwargs.setdefault("default", self.default)
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        try:
            # The common case costs nothing extra: json refuses a non-finite float with ValueError.
            return json.dumps(obj, allow_nan=False, **kwargs)
        except ValueError:
            pass
        where: list[str] = []
        cleaned = finite_or_null(obj, where)
        log.warning("non-finite numbers answered as null", extra={"paths": where[:10], "count": len(where)})
        return json.dumps(cleaned, allow_nan=False, **kwargs)
