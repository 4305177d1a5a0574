"""Print the OpenAPI document: `python -m adapters.http.openapi_dump > openapi.json`
(or `smsledger openapi > openapi.json`). It needs no database: the document
depends only on the routes."""

from __future__ import annotations

import sys

from adapters.config.settings import Settings
from adapters.http.app import build_routes
from adapters.http.openapi import rendered_spec


def document_text() -> str:
    """The document as the app serves it at /openapi.json."""
    settings = Settings.from_env({})
    return rendered_spec(build_routes(settings.max_request_body_bytes))


def main() -> int:
    sys.stdout.write(document_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
