"""Issue 13's dashboard: states coloured in every list, a confirmation before every
destructive action, re-run of a finished job, a dash for no ready job, the workers' alive
or gone, and a page that holds together at a phone's width."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.dashboard import jobs
from tests.dashboard.conftest import Console, unavailable
from tests.support.server import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

if (reason := unavailable()) is not None:
    if os.environ.get("LEASEQ_TEST_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"LEASEQ_TEST_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason, allow_module_level=True)
from playwright.sync_api import expect

from tests.dashboard.dialogs import answer

DASH = "\N{EN DASH}"


def test_cancel_on_the_job_page_asks_first(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    (job_id,) = jobs.enqueue(http, "q", 1)
    page.goto(f"{server.url}/#/job/{job_id}")
    page.locator(".toolbar button.cancel").click()
    answer(page, ok=False)
    assert jobs.state(http, job_id) == "QUEUED"
    page.locator(".toolbar button.cancel").click()
    answer(page)
    expect(page.locator("#job-state")).to_have_text("CANCELLED")
    assert console.unexpected() == []


def test_requeue_on_the_job_page_asks_first(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    (dead,) = jobs.kill(http, "q", [jobs.traceback(1, "KeyError", "'user'")],
                        kind=("KeyError", "'user'"))  # fmt: skip
    page.goto(f"{server.url}/#/job/{dead}")
    expect(page.locator("#job-error-headline")).to_have_text("KeyError: 'user'")
    expect(page.locator("#job-error")).to_contain_text("Traceback (most recent call last)")
    page.locator(".toolbar button.requeue").click()
    answer(page)
    expect(page.locator("#job-state")).to_have_text("QUEUED")
    assert console.unexpected() == []


@pytest.mark.parametrize("final", ["DONE", "CANCELLED"])
def test_a_finished_job_is_rerun_as_a_new_job(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console, final: str
) -> None:
    spec = {"queue": "mail", "task": "send", "payload": {"to": "ada"}, "priority": 7,
            "max_tries": 3}  # fmt: skip
    old = http.post("/enqueue", json=spec).json()["job"]
    if final == "DONE":
        jobs.finish(http, "mail", 1)
    else:
        http.post(f"/jobs/{old['id']}/cancel")
    page.goto(f"{server.url}/#/job/{old['id']}")
    expect(page.locator("#job-state")).to_have_text(final)
    page.locator("#rerun").click()
    link = page.locator("#rerun-result a")
    expect(link).to_be_visible()
    new_id = link.inner_text()
    assert new_id != old["id"]
    new = http.get(f"/jobs/{new_id}").json()["job"]
    assert {k: new[k] for k in spec} == spec and new["state"] == "QUEUED"
    link.click()
    expect(page.locator("#job-state")).to_have_text("QUEUED")
    expect(page.locator("#rerun")).to_have_count(0)  # only DONE and CANCELLED jobs
    assert console.unexpected() == []


def test_jobs_are_coloured_by_state_in_every_list(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    jobs.enqueue(http, "q", 2)
    jobs.finish(http, "q", 1)
    (dead,) = jobs.kill(http, "q", ["boom"])
    colours = {}
    for state, url in (("QUEUED", "#/queue/q/jobs/QUEUED"), ("DONE", "#/queue/q/jobs/DONE"),
                       ("DEAD", "#/queue/q/dead")):  # fmt: skip
        page.goto(f"{server.url}/{url}")
        row = page.locator(f"tr.job.state-{state}").first
        expect(row).to_be_visible()
        shadow = row.locator("td").first.evaluate("td => getComputedStyle(td).boxShadow")
        assert "inset" in shadow, shadow
        colours[state] = shadow
    assert len(set(colours.values())) == 3  # one colour per state
    assert page.locator(f"tr.job.state-DEAD[data-job='{dead}']").count() == 1
    assert console.unexpected() == []


def test_a_queue_with_no_ready_job_shows_a_dash(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    jobs.enqueue(http, "later", 1, delay=3600)
    jobs.enqueue(http, "now", 1)
    page.goto(server.url)
    expect(page.locator("#queues tr[data-queue=later] td[data-col=oldest]")).to_have_text(DASH)
    expect(page.locator("#queues tr[data-queue=now] td[data-col=oldest]")).to_contain_text(" s")
    assert console.unexpected() == []


def test_workers_show_alive(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    jobs.enqueue(http, "q", 1)
    jobs.lease(http, "q", 1, worker="worker-1")
    page.goto(f"{server.url}/#/workers")
    expect(page.locator("#workers tr[data-worker=worker-1] .badge")).to_have_text("alive")
    assert console.unexpected() == []


def test_every_page_fits_a_phone_width(
    browser: Browser, http: httpx.Client, server: ServerProcess
) -> None:
    jobs.enqueue(http, "a-queue-with-a-long-name", 3)
    (dead,) = jobs.kill(http, "a-queue-with-a-long-name",
                        [jobs.traceback(1, "ConnectionRefusedError", "x" * 300)],
                        kind=("ConnectionRefusedError", "x" * 300))  # fmt: skip
    jobs.lease(http, "a-queue-with-a-long-name", 1, worker="a-worker-with-a-long-id-0123456789")
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="en-US")
    page = context.new_page()
    try:
        for url, ready in (("", "#queues tbody tr[data-queue]"),
                           ("#/queue/a-queue-with-a-long-name/jobs/QUEUED", "#jobs tr[data-job]"),
                           ("#/queue/a-queue-with-a-long-name/dead", "#dead tr[data-job]"),
                           (f"#/job/{dead}", "#job-state"), ("#/workers", "#workers tbody tr"),
                           ("#/schedules", "#schedules")):  # fmt: skip
            page.goto(f"{server.url}/{url}")
            expect(page.locator(ready).first).to_be_visible()
            width = page.evaluate(
                "[document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert width[0] <= width[1], (url, width)
            header = page.locator("header").bounding_box()
            assert header is not None and header["width"] <= 390, url
    finally:
        context.close()
