"""`GET /api/health`: is the API up, and can it reach its database."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from flask import Blueprint

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


@bp.get("/api/health")
def health() -> tuple[dict[str, Any], int]:
    database = check_database()
    if not database["ok"]:
        status = "down"
    elif database["latency_ms"] > DEGRADED_LATENCY_MS:
        status = "degraded"
    else:
        status = "ok"
    body = {
        "status": status,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "version": _version(),
        "checks": {"database": database},
    }
    return body, 503 if status == "down" else 200
