"""Each area as its own AWS Lambda behind HTTP (API Gateway v1/v2 payloads, Function URLs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, Flask

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def lambda_handler(blueprint: Blueprint) -> LambdaHandler:
    """A Lambda handler serving only `blueprint`; the app is built before a SnapStart snapshot or on first use."""
    app: Flask | None = None
    wrapped: LambdaHandler | None = None

    def build() -> Flask:
        nonlocal app, wrapped
        if app is None:
            from apig_wsgi import make_lambda_handler

            from functions.lambda_context import lambda_settings
            from functions.web.app import create_app

            lambda_settings()
            app = create_app([blueprint])
            wrapped = make_lambda_handler(app)
        return app

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        build()
        assert wrapped is not None
        return wrapped(event, context)

    from functions.web import snapstart

    snapstart.register(build, blueprint.import_name)
    return handler
