"""How the OpenAPI 3.1 document is served: as JSON at `/openapi.json` (and
`/openapi/openapi.json`), with a Swagger UI page at `/openapi`.

The page's scripts and styles are Swagger UI's own files, kept in
adapters/http/assets/swagger-ui and served from here: it works offline and
loads nothing from a third party.

Litestar generates the document from the routes; openapi_document.py then
finishes it (msgspec's own schemas, the error envelope, security). Both JSON
addresses serve the same rendering, which is also what
`smsledger openapi` prints and what the repository commits as openapi.json.
"""

from __future__ import annotations

import html
import json
from functools import cache
from pathlib import Path
from typing import Any

from litestar import Litestar, Request, Response, Router, get
from litestar.exceptions import NotFoundException
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from adapters.http.openapi_document import finish_document

OPENAPI_PATH = "/openapi"
CATCH_ALL = "/{path:str}"
SPEC_MEDIA_TYPE = "application/json"
DESCRIPTION = (
    "Bulk SMS on an append-only ledger. Every answer is an envelope: "
    '`{"data": ..., "meta": {"request_id"}}`, lists add `pagination`, and every error is '
    '`{"error": {"code", "message", "details"}, "meta": {"request_id"}}`. Authenticate '
    "with `X-API-Key` + `X-API-Secret`, with one combined `<api_key>:<api_secret>` token "
    "in `X-API-Key` or `Authorization: Bearer`, or with a Bearer session or OAuth token."
)
SECURITY_SCHEMES: dict[str, SecurityScheme] = {
    "ApiKey": SecurityScheme(
        type="apiKey", name="X-API-Key", security_scheme_in="header",
        description="The API key, with its secret in X-API-Secret, or a combined"
        " `<api_key>:<api_secret>` token on its own.",
    ),
    "ApiSecret": SecurityScheme(
        type="apiKey", name="X-API-Secret", security_scheme_in="header",
        description="The secret shown once when the key was created.",
    ),
    "Bearer": SecurityScheme(
        type="http", scheme="bearer",
        description="A session access token from /v1/auth/login (RS256 JWT), an OAuth"
        " access token from /v1/oauth/access_token, or a combined `<api_key>:<api_secret>`.",
    ),
    "CarrierSecret": SecurityScheme(
        type="apiKey", name="X-Carrier-Secret", security_scheme_in="header",
        description="The shared secret of a carrier route, for its delivery reports and"
        " inbound messages.",
    ),
}


ASSETS_DIR = Path(__file__).parent / "assets" / "swagger-ui"
# The files the page loads, and how they are served; nothing else is.
ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
ASSET_MAX_AGE_S = 86_400


class OwnSwaggerPlugin(SwaggerRenderPlugin):
    """Swagger UI from the product's own files, showing the finished document
    (what /openapi.json serves), not Litestar's raw one."""

    def __init__(self) -> None:
        super().__init__(
            js_url=f"{OPENAPI_PATH}/swagger-ui-bundle.js",
            css_url=f"{OPENAPI_PATH}/swagger-ui.css",
            favicon=f"<link rel='icon' type='image/png' href='{OPENAPI_PATH}/favicon-32x32.png'>",
            path="/",
        )

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        title = html.escape(str(openapi_schema["info"]["title"]))
        # validatorUrl null: Swagger UI would otherwise send the document to
        # validator.swagger.io for a badge.
        return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
{self.favicon}
<link rel="stylesheet" href="{self.css_url}">
{self.style}
</head>
<body>
<div id="swagger-ui"></div>
<script src="{self.js_url}"></script>
<script>
window.ui = SwaggerUIBundle({{
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
}});
</script>
</body>
</html>
""".encode()

    def receive_router(self, router: Router) -> None:
        super().receive_router(router)
        router.register(swagger_asset)


@cache
def _asset_bytes(name: str) -> bytes:
    return (ASSETS_DIR / name).read_bytes()


@get([f"/{name}" for name in ASSETS], include_in_schema=False, sync_to_thread=False)
def swagger_asset(request: Request[Any, Any, Any]) -> Response[bytes]:
    name = request.url.path.rsplit("/", 1)[-1]
    if name not in ASSETS:
        raise NotFoundException()
    return Response(_asset_bytes(name), media_type=ASSETS[name],
                    headers={"cache-control": f"public, max-age={ASSET_MAX_AGE_S}"})


class PublicJsonPlugin(JsonRenderPlugin):
    """Serves the finished document, not Litestar's raw one."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return rendered_spec(request.app).encode()

    def receive_router(self, router: Router) -> None:
        """Litestar adds a catch-all route under the docs router that answers
        unknown paths with an HTML page of its own; without it they reach the
        API's 404 envelope like any other unknown path."""
        catch_all = router.path.rstrip("/") + CATCH_ALL
        router.routes[:] = [route for route in router.routes if route.path != catch_all]


def openapi_config() -> OpenAPIConfig:
    """A new config per app: the docs router collects its routes on first use."""
    return OpenAPIConfig(
        title="smsledger",
        version="0.1.0",
        description=DESCRIPTION,
        path=OPENAPI_PATH,
        components=Components(security_schemes=dict(SECURITY_SCHEMES)),
        render_plugins=[OwnSwaggerPlugin(), PublicJsonPlugin(path="/openapi.json")],
    )


def public_spec(app: Litestar) -> dict[str, Any]:
    """The finished document as a dict, built once per app."""
    cached = app.state.get("openapi_document")
    if cached is None:
        cached = finish_document(app, app.openapi_schema.to_schema())
        app.state.openapi_document = cached
    document: dict[str, Any] = cached
    return document


def rendered_spec(app: Litestar) -> str:
    """Deterministic text: sorted keys, two-space indent, a final newline."""
    return json.dumps(public_spec(app), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


@get("/openapi.json", include_in_schema=False, media_type=SPEC_MEDIA_TYPE, sync_to_thread=False)
def openapi_json(request: Request[Any, Any, Any]) -> Response[bytes]:
    return Response(rendered_spec(request.app).encode(), media_type=SPEC_MEDIA_TYPE)
