"""``/docs`` from the package (issue 13): no network, no inline script, the vendored Swagger
UI as pinned, and ``/openapi.json`` a read like any other when tokens are configured."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import httpx

from leaseq.server.http import apidocs
from tests.app.conftest import MakeServer

STATIC = Path(apidocs.__file__).parent / "static"


def test_the_docs_page_loads_only_its_own_files(http: httpx.Client) -> None:
    page = http.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "swagger" in page.text.lower()
    assert "<script>" not in page.text  # no inline script: a CSP can say script-src 'self'
    urls = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert all(not re.match(r"\w+://|//", u) for u in urls), urls  # nothing off this server
    for url in urls:
        if not url.startswith("data:"):
            asset = http.get(f"/{url}")
            assert asset.status_code == 200 and asset.content, url


def test_the_vendored_files_are_the_pinned_ones(http: httpx.Client) -> None:
    pinned = dict(
        (name, digest)
        for digest, name in re.findall(
            r"sha256 (\w{64})  (\S+)", (STATIC / "VENDORED.md").read_text()
        )
    )
    assert set(pinned) == {"swagger-ui-bundle.js", "swagger-ui.css"}
    for name, digest in pinned.items():
        assert hashlib.sha256((STATIC / name).read_bytes()).hexdigest() == digest, name
    assert http.get("/docs/static/VENDORED.md").status_code == 404  # only what the page loads
    assert http.get("/docs/static/../__init__.py").status_code == 404


def test_openapi_needs_a_read_token_when_tokens_are_set(
    app_server_factory: MakeServer,
) -> None:
    server = app_server_factory(tokens=("read:r", "worker:w"))
    with server.client(timeout=10) as http:
        assert http.get("/openapi.json").status_code == 401
        for secret in ("r", "w"):
            answer = http.get("/openapi.json", headers={"Authorization": f"Bearer {secret}"})
            assert answer.status_code == 200 and answer.json()["paths"]
        # The page and its assets are static files, open like the dashboard's.
        assert http.get("/docs").status_code == 200
        assert http.get("/docs/static/init.js").status_code == 200
        assert http.get("/").status_code == 200


def test_openapi_is_open_without_tokens(http: httpx.Client) -> None:
    assert http.get("/openapi.json").status_code == 200
