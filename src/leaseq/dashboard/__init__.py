"""The built-in web dashboard: static files served by the server at ``/``.

The dashboard is plain HTML, CSS and JavaScript that talks to the same public HTTP API as
every other client, so the server only has to hand out the files.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

STATIC_DIR = Path(__file__).parent / "static"


async def index(_: Request) -> Response:
    # no-cache: the page is tiny and must pick up new asset versions after an upgrade.
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


def dashboard_routes() -> list[Route | Mount]:
    """``GET /`` and the assets under ``/ui/static``, kept out of the OpenAPI document."""
    return [
        Route("/", index, methods=["GET"], include_in_schema=False),
        Mount("/ui/static", StaticFiles(directory=STATIC_DIR), name="dashboard-static"),
    ]
