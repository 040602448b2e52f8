"""Issue 14, defect 5: a page of another origin, in a real Chromium, cannot drive the API.

The page is served by a second small HTTP server on another loopback port (another
origin, as a site the user happens to open would be). Its ``fetch`` calls use
``mode: "no-cors"`` with ``text/plain`` bodies, which a browser sends without a CORS
preflight; afterwards the store must hold no new job and nothing may have changed.
"""

from __future__ import annotations

import http.server
import os
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.dashboard import jobs
from tests.dashboard.conftest import unavailable
from tests.support.server import ServerProcess, free_port

if TYPE_CHECKING:
    from playwright.sync_api import Page

if (reason := unavailable()) is not None:
    if os.environ.get("LEASEQ_TEST_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"LEASEQ_TEST_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason, allow_module_level=True)

ATTACK = """
async (base) => {
  const job = window.targets.job, dead = window.targets.dead;
  const attempts = [
    ["enqueue", {body: JSON.stringify({payload: "from another site"})}],
    ["enqueue", {body: "payload=x",
                 headers: {"Content-Type": "application/x-www-form-urlencoded"}}],
    [`jobs/${job}/cancel`, {}],
    [`jobs/${job}/cancel`, {body: "{}"}],
    ["dead/requeue", {body: JSON.stringify({job_ids: [dead]})}],
    ["poll", {body: JSON.stringify({worker_id: "evil", queues: ["q"], max_jobs: 10})}],
  ];
  const seen = [];
  for (const [path, init] of attempts) {
    const headers = {"Content-Type": "text/plain", ...(init.headers || {})};
    try {
      const r = await fetch(`${base}/${path}`, {method: "POST", mode: "no-cors", ...init, headers});
      seen.push(`${path}: ${r.type}`);
    } catch (e) {
      seen.push(`${path}: ${e}`);
    }
  }
  return seen;
}
"""


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>another site</title><p>hello"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def other_site() -> Iterator[str]:
    port = free_port()
    site = http.server.ThreadingHTTPServer(("127.0.0.1", port), _Page)
    thread = threading.Thread(target=site.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    site.shutdown()
    site.server_close()
    thread.join(5)


def _snapshot(http: httpx.Client) -> list[tuple[str, str, int]]:
    listed = http.get("/jobs", params={"limit": 1000}).json()["jobs"]
    return sorted((j["id"], j["state"], j["attempts"]) for j in listed)


def test_a_page_of_another_origin_changes_nothing(
    page: Page, http: httpx.Client, server: ServerProcess, other_site: str
) -> None:
    (job,) = jobs.enqueue(http, "q", 1)
    (dead,) = jobs.kill(http, "q", ["boom"])
    before = _snapshot(http)
    page.goto(other_site)
    page.evaluate(f"window.targets = {{job: {job!r}, dead: {dead!r}}}")
    seen = page.evaluate(ATTACK, server.url)
    assert len(seen) == 6, seen
    assert _snapshot(http) == before
    assert http.get(f"/jobs/{job}").json()["job"]["state"] == "QUEUED"
    assert http.get(f"/jobs/{dead}").json()["job"]["state"] == "DEAD"
    log = server.log()
    assert "Traceback" not in log


def test_a_rebound_name_is_refused(server: ServerProcess) -> None:
    """DNS rebinding: the attacker's name resolves to 127.0.0.1, so the page counts as
    same-origin in the browser; the server sees the name in ``Host`` and refuses it."""
    with httpx.Client(base_url=server.url) as client:
        headers = {"Host": f"rebind.example:{server.port}",
                   "Origin": f"http://rebind.example:{server.port}"}  # fmt: skip
        refused = client.post("/enqueue", json={"payload": 1}, headers=headers)
        assert refused.status_code == 421, refused.text
        assert refused.json()["error"]["code"] == "unknown_host"
        assert client.get("/jobs").json()["jobs"] == []


def test_the_dashboard_sends_its_security_headers(server: ServerProcess) -> None:
    index = httpx.get(server.url + "/")
    csp = index.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert index.headers["x-frame-options"] == "DENY"
