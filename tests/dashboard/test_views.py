"""The scheduled and retrying views, search by id and by task, workers gone."""

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


def test_scheduled_and_retrying_views_show_their_run_at(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    (ready,) = jobs.enqueue(http, "q", 1)
    (later,) = jobs.enqueue(http, "q", 1, delay=3600)
    (failing,) = jobs.enqueue(http, "q", 1, max_tries=3, priority=5)
    (leased,) = jobs.lease(http, "q", 1)  # the highest priority: `failing`
    assert leased["id"] == failing
    http.post("/fail", json={"job_id": failing, "lease_token": leased["lease_token"],
                             "error": "flaky"})  # fmt: skip
    page.goto(f"{server.url}/#/queue/q/jobs/SCHEDULED")
    rows = page.locator("#jobs tbody tr[data-job]")
    # The retry waits out its backoff (FAST: 0.1-0.2 s), so it may be scheduled too.
    run_at = page.locator(f"#jobs tr[data-job='{later}'] td[data-col=run_at]")
    expect(run_at).to_contain_text("(in ")
    assert ready not in rows.evaluate_all("rs => rs.map(r => r.dataset.job)")
    page.locator("nav.tabs a", has_text="retrying").click()
    expect(rows).to_have_count(1)
    expect(page.locator(f"#jobs tr[data-job='{failing}']")).to_contain_text("1/3")
    expect(page.locator("nav.tabs a.current")).to_have_text("retrying")
    assert console.unexpected() == []


def test_the_views_come_from_the_server_past_a_page_of_ready_jobs(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    """The oldest QUEUED jobs are delayed and retrying; 150 ready ones enqueued after them
    fill the first page of QUEUED (100, newest first), where a browser-side filter found
    nothing."""
    (later,) = jobs.enqueue(http, "deep", 1, delay=3600)
    (failing,) = jobs.enqueue(http, "deep", 1, max_tries=3)
    (leased,) = jobs.lease(http, "deep", 1)
    assert leased["id"] == failing
    fail = {"job_id": failing, "lease_token": leased["lease_token"], "error": "flaky"}
    assert http.post("/fail", json=fail).status_code == 200
    jobs.enqueue(http, "deep", 150)
    page.goto(f"{server.url}/#/queue/deep/jobs/RETRYING")
    rows = page.locator("#jobs tbody tr[data-job]")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-job", failing)
    page.locator("nav.tabs a", has_text="scheduled").click()
    expect(page.locator(f"#jobs tr[data-job='{later}']")).to_be_visible()
    shown = rows.evaluate_all("rs => rs.map(r => r.dataset.job)")
    assert set(shown) <= {later, failing}, shown  # the retry may still wait out its backoff
    expect(page.locator("#more")).to_be_hidden()
    assert console.unexpected() == []


def test_the_task_filter_narrows_the_loaded_rows(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    tasks = ("send_email", "send_sms", "report")
    http.post("/enqueue", json={"jobs": [{"queue": "q", "task": t, "payload": 1} for t in tasks]})
    page.goto(f"{server.url}/#/queue/q/jobs/QUEUED")
    rows = page.locator("#jobs tbody tr[data-job]")
    expect(rows).to_have_count(3)
    expect(page.locator("#view")).not_to_contain_text("undefined")
    page.locator("#task-filter").fill("send")
    expect(rows).to_have_count(2)
    expect(page.locator("#shown-count")).to_have_text("2 shown of 3 loaded")
    page.locator("#task-filter").fill("nothing")
    expect(page.locator("#jobs tbody")).to_contain_text("No jobs.")
    assert console.unexpected() == []


def test_search_by_id_opens_the_job_or_says_there_is_none(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    (job_id,) = jobs.enqueue(http, "q", 1)
    page.goto(server.url)
    box = page.get_by_label("Open a job by id")
    box.fill(f"  {job_id} ")
    box.press("Enter")
    expect(page.locator("#job-state")).to_have_text("QUEUED")
    box.fill(job_id[:-1])  # not a prefix search: exact ids only
    box.press("Enter")
    expect(page.locator("#view h1")).to_have_text("No such job")
    expect(page.locator("#no-job")).to_contain_text(job_id[:-1])
    assert console.unexpected(404) == []


def test_a_worker_silent_for_long_is_gone(
    page: Page, server: ServerProcess, console: Console
) -> None:
    old = {"worker_id": "w-old", "last_seen_at": "2020-01-01T00:00:00.000Z", "jobs": [],
           "done": 3, "failed": 1, "queues": ["emails"], "concurrency": None}  # fmt: skip
    page.route("**/workers", lambda route: route.fulfill(json={"workers": [old]}))
    page.goto(f"{server.url}/#/workers")
    row = page.locator("#workers tr[data-worker=w-old]")
    expect(row.locator(".badge")).to_have_text("gone")
    expect(row.locator("td.queues")).to_have_text("emails")
    expect(row.locator("td.concurrency")).to_have_text("\u2013")  # it did not say
    assert console.unexpected() == []
