"""Each HTTP area as its own AWS Lambda behind HTTP (API Gateway v1/v2 payloads, Function URLs).

A handler names its area's module and imports none of it: the area, its models and the app are
built by Lambda's init (an on-demand or provisioned init right after the import, before the first
event reaches the environment; SnapStart before its snapshot, functions/web/snapstart.py), or by the
first request anywhere else. So the import is the handler's own, and what the area costs is paid once,
in init, never by a restored environment.
"""

from __future__ import annotations

import importlib
import logging
import os
import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]

# `AWS_LAMBDA_INITIALIZATION_TYPE` values whose init is followed by this environment's first event.
BUILT_AT_INIT = frozenset({"on-demand", "provisioned-concurrency"})
# SnapStart's init: the runtime calls the before-snapshot hooks after the import.
SNAPSHOT_INIT = "snap-start"

log = logging.getLogger(__name__)


def is_this_functions_handler(name: str, environ: Mapping[str, str]) -> bool:
    """Whether `name` (`functions/api/handlers.trades`) is the handler Lambda runs (`_HANDLER`)."""
    return environ.get("_HANDLER", "").strip() == name


class AreaHandler:
    """The Lambda handler of one area: `area` is the module holding its blueprint (`bp`)."""

    def __init__(self, area: str, name: str) -> None:
        self.area = area
        # As serverless.yml names it, which is what Lambda puts in `_HANDLER`.
        self.name = name
        self._lock = threading.Lock()
        self._app: Flask | None = None
        self._wrapped: LambdaHandler | None = None

    @property
    def built(self) -> bool:
        """Whether the area's app is built (by init, a before-snapshot hook or a first request)."""
        return self._app is not None

    def build(self) -> Flask:
        """The area's app, built once: settings and logging, the area's module, the app and its adapter."""
        with self._lock:
            if self._app is None:
                from apig_wsgi import make_lambda_handler

                from functions.lambda_context import lambda_settings
                from functions.web.app import create_app

                lambda_settings()
                app = create_app([importlib.import_module(self.area).bp])
                self._wrapped = make_lambda_handler(app)
                self._app = app
            return self._app

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        self.build()
        assert self._wrapped is not None
        return self._wrapped(event, context)

    def init(self, environ: Mapping[str, str]) -> None:
        """Lambda's init of this handler (nothing elsewhere): build now, or before SnapStart's snapshot."""
        if not is_this_functions_handler(self.name, environ):
            return
        kind = environ.get("AWS_LAMBDA_INITIALIZATION_TYPE", "")
        if kind == SNAPSHOT_INIT:
            from functions.web import snapstart

            snapstart.register(self.build)
        elif kind in BUILT_AT_INIT:
            try:
                self.build()
            except Exception:
                # The first request builds again and answers with the reason; init must not die silently.
                log.exception("[init] %s: the area could not be built at init", self.name)


def area_handler(area: str, name: str) -> AreaHandler:
    """The handler serving only `area`'s blueprint, named `name` in serverless.yml; runs its init."""
    handler = AreaHandler(area, name)
    handler.init(os.environ)
    return handler
