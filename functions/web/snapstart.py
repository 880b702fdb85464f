"""SnapStart for the request handlers: built before the snapshot, made unique again after restore.

With SnapStart, Lambda initialises a function version once, snapshots its memory, and starts every
later environment from that snapshot: a cold start then pays for the restore, not for importing
Flask, pydantic's validators and the app. So before the snapshot we build what a request needs
(the app, its models' validators, the Discord client), and after a restore we throw away what
must not be shared between environments: database connections (their sockets belong to the
environment that was snapshotted; a half-open one can stall a request until TCP gives up) and
the state of Python's `random`. Nothing per-environment (ids, tokens, connections) is created
before the snapshot. `snapshot_restore_py` exists only in Lambda's runtime (and in our tests);
elsewhere `register` does nothing.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flask import Flask
    from pydantic import BaseModel

log = logging.getLogger(__name__)


# Pages with no auth and no database whose first answer is costly: rendered once before the snapshot.
WARM_PAGES = frozenset({"/api/openapi.json", "/api/docs"})


def build_models(app: Flask) -> int:
    """Build the validators and serializers of every model the app's routes take or answer; the count.

    Our models defer their build (`defer_build=True`) so a plain import stays cheap; before a
    snapshot the build is what we want to have paid.
    """
    from functions.web.openapi import described

    models: set[type[BaseModel]] = set()
    for view in app.view_functions.values():
        op = described(view)
        if op is not None:
            models.update(m for m in (op.body, op.query, op.response) if m is not None)
    for model in models:
        model.model_rebuild(force=True)
    return len(models)


def warm(app: Flask) -> None:
    """Everything a first request would build, without a database connection or a network call."""
    from shared.delivery.dispatch import default_engine

    build_models(app)
    default_engine()  # the Discord client and `requests` (~40 ms); its sessions open per thread, later
    # One request through Flask and Werkzeug (a CORS preflight: no auth, no database), and the pages
    # that need neither but build much on their first request (the OpenAPI document: ~120 ms).
    served = {rule.rule for rule in app.url_map.iter_rules()}
    with app.test_client() as client:
        client.options("/api/health")
        for page in WARM_PAGES & served:
            client.get(page)


def drop_connections() -> None:
    """Close the database pools: their sockets must not outlive the environment that opened them."""
    from shared.db import reset_for_tests

    reset_for_tests()


def after_restore() -> None:
    """A restored environment's own state: fresh connections on the next request, its own random."""
    drop_connections()
    random.seed()
    log.info("restored from a SnapStart snapshot")


def register(build: Callable[[], Flask]) -> bool:
    """Register a handler's hooks with Lambda's runtime (its SnapStart init); False where none would call them."""
    try:
        import snapshot_restore_py
    except ImportError:
        return False

    def before_snapshot() -> None:
        warm(build())
        drop_connections()

    snapshot_restore_py.register_before_snapshot(before_snapshot)
    snapshot_restore_py.register_after_restore(after_restore)
    return True
