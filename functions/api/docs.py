"""`GET /api/docs`: the OpenAPI document as a readable page (Swagger UI), served entirely by this API.

The page and its scripts come from the `swagger-ui-bundle-v2` package (Swagger UI 5, which reads
OpenAPI 3.1); nothing is loaded from another host, and the Content-Security-Policy says so.
"""

from __future__ import annotations

from pathlib import Path

from flask import Blueprint, Response, current_app
from swagger_ui_bundle import swagger_ui_path

from functions.web import openapi
from functions.web.errors import NotFound

bp = Blueprint("docs", __name__)

ASSETS_DIR = Path(swagger_ui_path)
# Only what the page uses; the package's other files are never served.
ASSETS = {
    "swagger-ui.css": "text/css",
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui-standalone-preset.js": "text/javascript",
    "favicon-32x32.png": "image/png",
}
# Swagger UI styles some elements inline and shows schema images as data: URIs.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Honey Drip API</title>
  <link rel="stylesheet" href="/api/docs/swagger-ui.css">
  <link rel="icon" type="image/png" href="/api/docs/favicon-32x32.png">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/swagger-ui-bundle.js"></script>
  <script src="/api/docs/swagger-ui-standalone-preset.js"></script>
  <script src="/api/docs/start.js"></script>
</body>
</html>
"""

# In a file of its own, not inline, so the page runs under script-src 'self'.
START_TYPE = "text/javascript"
START = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/api/openapi.json",
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
    validatorUrl: null
  });
};
"""


def _page(body: str | bytes, mimetype: str) -> Response:
    response = current_app.response_class(body, mimetype=mimetype)
    response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


@bp.get("/api/docs")
@openapi.operation(
    summary="This documentation, as a page (Swagger UI)", tag="meta", response=None, auth=False,
    content_type="text/html",
)
def docs_page() -> Response:
    return _page(PAGE, "text/html")


@bp.get("/api/docs/<asset>")
@openapi.operation(
    summary="The documentation page's scripts, styles and icon", tag="meta", response=None, auth=False,
    content_type=tuple(sorted({*ASSETS.values(), START_TYPE})), errors=(404,),
)
def docs_asset(asset: str) -> Response:
    if asset == "start.js":
        return _page(START, START_TYPE)
    mimetype = ASSETS.get(asset)
    if mimetype is None:
        raise NotFound(f"no documentation asset named {asset[:60]!r}", field="asset")
    return _page((ASSETS_DIR / asset).read_bytes(), mimetype)
