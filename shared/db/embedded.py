"""The embedded Postgres (pgserver) used by `make dev` and the tests when DATABASE_URL is unset."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_PGDATA = REPO_ROOT / ".local" / "pgdata"

_servers: dict[Path, Any] = {}


class EmbeddedUnavailable(RuntimeError):
    """DATABASE_URL is unset and the embedded server cannot be started here."""


def start_embedded(pgdata: Path | None = None) -> str:
    """Start (or reuse) an embedded Postgres in `pgdata` and return its connection URI.

    The server stops when this process exits; its data stays in the git-ignored folder.
    """
    folder = (pgdata or Path(os.environ.get("HONEYDRIP_PGDATA", DEFAULT_PGDATA))).resolve()
    if folder in _servers:
        return str(_servers[folder].get_uri())
    # platformdirs (under pgserver) warns when XDG_RUNTIME_DIR is unset, as it is in containers.
    os.environ.setdefault("XDG_RUNTIME_DIR", str(folder.parent / "run"))
    try:
        import pgserver
    except ImportError:
        raise EmbeddedUnavailable(
            "DATABASE_URL is not set and the embedded Postgres is not installed "
            "(pip install 'honeydrip-backend[embedded]', or set DATABASE_URL)"
        ) from None
    folder.mkdir(parents=True, exist_ok=True)
    Path(os.environ["XDG_RUNTIME_DIR"]).mkdir(mode=0o700, parents=True, exist_ok=True)
    server = pgserver.get_server(folder, cleanup_mode="stop")
    _servers[folder] = server
    log.info("embedded postgres started", extra={"pgdata": folder.name})
    return str(server.get_uri())
