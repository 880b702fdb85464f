"""`GET /api/health`: is the API up, and can it reach its database."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from importlib import metadata
from typing import Any, Literal

from flask import Blueprint
from pydantic import BaseModel

from functions import openapi
from functions.lambda_adapter import lambda_handler
from shared.db import default_pool

bp = Blueprint("health", __name__)
handler = lambda_handler(bp)

# A check slower than this still works but makes the API "degraded".
DEGRADED_LATENCY_MS = 1000
DATABASE_TIMEOUT_S = 3.0


def _version() -> str:
    try:
        return metadata.version("honeydrip-backend")
    except metadata.PackageNotFoundError:
        return "unknown"


def check_database() -> dict[str, Any]:
    """Round-trip `select 1`; `ok` false with the error class when the database cannot answer."""
    started = time.perf_counter()
    try:
        with default_pool().connection(timeout=DATABASE_TIMEOUT_S) as conn:
            conn.execute("select 1")
    except Exception as error:  # any failure here means "not reachable" to ops
        return {
            "ok": False,
            "latency_ms": round((time.perf_counter() - started) * 1000, 1),
            "error": type(error).__name__,
        }
    return {"ok": True, "latency_ms": round((time.perf_counter() - started) * 1000, 1)}


class DatabaseCheck(BaseModel):
    """The database round trip: `ok`, how long it took, and the error class when it failed."""

    ok: bool
    latency_ms: float
    error: str | None = None


class HealthChecks(BaseModel):
    database: DatabaseCheck


class Health(BaseModel):
    """Answer of `GET /api/health` (503 with the same shape when the database is down)."""

    status: Literal["ok", "degraded", "down"]
    timestamp: str
    version: str
    checks: HealthChecks


@bp.get("/api/health")
@openapi.operation(
    summary="Is the API up, and can it reach its database", tag="meta", response=Health, auth=False, also=(503,)
)
def health() -> tuple[Health, int]:
    database = DatabaseCheck.model_validate(check_database())
    if not database.ok:
        status: Literal["ok", "degraded", "down"] = "down"
    elif database.latency_ms > DEGRADED_LATENCY_MS:
        status = "degraded"
    else:
        status = "ok"
    body = Health(
        status=status,
        timestamp=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        version=_version(),
        checks=HealthChecks(database=database),
    )
    return body, 503 if status == "down" else 200
