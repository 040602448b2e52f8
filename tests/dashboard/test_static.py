"""How the dashboard's files are served: module scripts need a JavaScript type."""

from __future__ import annotations

import httpx

from leaseq.core import limits
from leaseq.dashboard import STATIC_DIR


def test_every_module_is_served_as_javascript_and_revalidated(http: httpx.Client) -> None:
    modules = sorted(p.relative_to(STATIC_DIR).as_posix() for p in STATIC_DIR.rglob("*.js"))
    assert "app.js" in modules and "pages/dead.js" in modules
    for path in [*modules, "lib/limits.js"]:
        r = http.get(f"/ui/static/{path}")
        assert r.status_code == 200, path
        assert r.headers["content-type"] == "text/javascript; charset=utf-8", path
        assert r.headers["cache-control"] == "no-cache", path
    assert 'type="module" src="ui/static/app.js"' in http.get("/").text


def test_limits_js_is_written_from_the_limits_module(http: httpx.Client) -> None:
    text = http.get("/ui/static/lib/limits.js").text
    assert f"export const MAX_BATCH = {limits.MAX_BATCH};" in text
    assert f"export const DEFAULT_PAGE = {limits.DEFAULT_PAGE};" in text
    assert not (STATIC_DIR / "lib" / "limits.js").exists()  # no stale copy to drift from
