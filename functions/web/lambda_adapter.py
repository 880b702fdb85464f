"""Each area as its own AWS Lambda behind HTTP (API Gateway v1/v2 payloads, Function URLs)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]


def lambda_handler(blueprint: Blueprint) -> LambdaHandler:
    """A Lambda handler serving only `blueprint`; the app is built on the first invocation."""
    wrapped: LambdaHandler | None = None

    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        nonlocal wrapped
        if wrapped is None:
            from apig_wsgi import make_lambda_handler

            from functions.lambda_context import lambda_settings
            from functions.web.app import create_app

            lambda_settings()
            wrapped = make_lambda_handler(create_app([blueprint]))
        return wrapped(event, context)

    return handler
