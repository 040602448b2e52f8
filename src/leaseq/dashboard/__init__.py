"""The built-in web dashboard: static files served by the server at ``/``.

The dashboard is plain HTML, CSS and native ES modules (no build step) that talk to the
same public HTTP API as every other client, so the server only has to hand out the files,
plus ``lib/limits.js``, written here from :mod:`leaseq.core.limits` so that the dashboard
sizes its pages and batches by the same numbers as the API.
"""

from __future__ import annotations

import os
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from leaseq.core import limits

STATIC_DIR = Path(__file__).parent / "static"

# Browsers refuse a module script served with a non-JavaScript type, and the type that
# `mimetypes` guesses for .js comes from the host (a Windows registry may say text/plain).
JAVASCRIPT = "text/javascript; charset=utf-8"

# no-cache: revalidate (cheap, with the ETag) on every load, so that after an upgrade a
# page never runs new modules next to stale ones that the browser kept.
REVALIDATE = {"Cache-Control": "no-cache"}

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self';"
    " frame-ancestors 'none'"
)
"""Only the dashboard's own files run (it has no inline script or style), and no other
site may frame it: its requeue and cancel buttons cannot be clicked through a frame."""

HEADERS = {
    **REVALIDATE,
    "Content-Security-Policy": CSP,
    "X-Frame-Options": "DENY",  # for browsers that predate frame-ancestors
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

LIMITS_JS = "".join(
    f"export const {name} = {getattr(limits, name)!r};\n"
    for name in ("MAX_BATCH", "DEFAULT_PAGE", "MAX_TAGS")
).encode()


class DashboardFiles(StaticFiles):
    """StaticFiles with a fixed JavaScript type for modules, revalidated on every load."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers.update(HEADERS)
        if response.status_code != 304 and str(full_path).endswith(".js"):
            response.headers["Content-Type"] = JAVASCRIPT
        return response


async def index(_: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", headers=HEADERS)


async def limits_js(_: Request) -> Response:
    return Response(LIMITS_JS, headers={**HEADERS, "Content-Type": JAVASCRIPT})


def dashboard_routes() -> list[Route | Mount]:
    """``GET /`` and the assets under ``/ui/static``, kept out of the OpenAPI document."""
    return [
        Route("/", index, methods=["GET"], include_in_schema=False),
        Route("/ui/static/lib/limits.js", limits_js, methods=["GET"], include_in_schema=False),
        Mount("/ui/static", DashboardFiles(directory=STATIC_DIR), name="dashboard-static"),
    ]
