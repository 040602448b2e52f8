"""``/docs``: Swagger UI on ``/openapi.json``, served from the package with no network.

The page and its assets are static files, open like the dashboard's: they hold no data.
The API description itself is a read like any other (``app.py`` guards it with a read
token when tokens are configured), and ``static/init.js`` fetches it with the token the
dashboard signed in with in the same tab. The page has no inline script, so a strict
Content-Security-Policy (``script-src 'self'``) can be put on it.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from starlette.responses import FileResponse, Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"
ASSETS = ("swagger-ui-bundle.js", "swagger-ui.css", "init.js")
"""What ``docs.html`` loads; nothing else under ``static/`` is served."""


class _Assets(StaticFiles):
    """Only the files the page loads (not the licence texts or ``VENDORED.md``)."""

    def lookup_path(self, path: str) -> tuple[str, os.stat_result | None]:
        if path not in ASSETS:
            return "", None
        return super().lookup_path(path)


def page(headers: Mapping[str, str] | None = None) -> Response:
    return FileResponse(STATIC_DIR / "docs.html", headers=dict(headers or {}))


def asset_routes() -> list[Mount]:
    return [Mount("/docs/static", _Assets(directory=STATIC_DIR), name="docs-static")]
