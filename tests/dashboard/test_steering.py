"""Issue 16 in the dashboard: a running job's progress (a bar) and checkpoint on its page
and in the LEASED list, and cancel of a running job, asked first."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.dashboard import jobs
from tests.dashboard.conftest import Console, unavailable
from tests.support.server import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import Page

if (reason := unavailable()) is not None:
    if os.environ.get("LEASEQ_TEST_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"LEASEQ_TEST_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason, allow_module_level=True)
from playwright.sync_api import expect

from tests.dashboard.dialogs import answer


def _running(http: httpx.Client, queue: str) -> dict[str, object]:
    """A LEASED job that reported progress 3 of 4 and saved a checkpoint."""
    jobs.enqueue(http, queue, 1, timeout=600)
    (job,) = jobs.lease(http, queue, 1)
    body = {"job_id": job["id"], "lease_token": job["lease_token"],
            "progress": {"done": 3, "of": 4}, "checkpoint": {"page": 12}}  # fmt: skip
    assert http.post("/heartbeat", json=body).status_code == 200
    return job


def test_the_job_page_shows_progress_and_checkpoint_and_cancels_a_running_job(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    job = _running(http, "steer")
    page.goto(f"{server.url}/#/job/{job['id']}")
    bar = page.locator("#job-progress progress")
    expect(bar).to_have_attribute("value", "0.75")
    expect(page.locator("#job-progress")).to_contain_text("75%")
    expect(page.locator("#job-checkpoint pre")).to_contain_text('"page": 12')
    expect(page.locator("#job-fields")).to_contain_text("600 s")
    page.locator(".toolbar button.cancel").click()
    expect(page.locator("#confirm-dialog")).to_contain_text("running on w1")
    answer(page, ok=False)
    assert jobs.state(http, str(job["id"])) == "LEASED"
    page.locator(".toolbar button.cancel").click()
    answer(page)
    expect(page.locator("#job-state")).to_have_text("CANCELLED")
    r = http.post("/ack", json={"job_id": job["id"], "lease_token": job["lease_token"]})
    assert r.status_code == 409 and r.json()["error"]["code"] == "job_cancelled"
    assert console.unexpected() == []


def test_the_leased_list_shows_each_jobs_progress_and_checkpoint(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    job = _running(http, "steer")
    jobs.enqueue(http, "steer", 1)
    (quiet,) = jobs.lease(http, "steer", 1)
    page.goto(f"{server.url}/#/queue/steer/jobs/LEASED")
    row = page.locator(f"tr[data-job='{job['id']}']")
    expect(row.locator("[data-col=progress] progress")).to_have_attribute("value", "0.75")
    expect(row.locator("[data-col=checkpoint]")).to_have_text('{"page":12}')
    other = page.locator(f"tr[data-job='{quiet['id']}']")
    expect(other.locator("[data-col=progress]")).to_have_text("\N{EN DASH}")
    page.goto(f"{server.url}/#/queue/steer/jobs/QUEUED")
    expect(page.locator("#jobs thead")).not_to_contain_text("Progress")
    assert console.unexpected() == []
