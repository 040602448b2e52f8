"""Finding jobs in a real browser: the Jobs page filters on the server by task, by every
tag and by state; the header's box takes an id, ``tag:…`` or ``task:…``; tags are shown
on the job page and in the lists, each a link to the jobs that carry it."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.dashboard.conftest import Console, unavailable
from tests.support.server import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import Page

if (reason := unavailable()) is not None:
    if os.environ.get("LEASEQ_TEST_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"LEASEQ_TEST_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason, allow_module_level=True)
from playwright.sync_api import expect

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def _enqueue(http: httpx.Client, **spec: object) -> str:
    r = http.post("/enqueue", json={"payload": 1, **spec})
    assert r.status_code == 201, r.text
    job_id: str = r.json()["job"]["id"]
    return job_id


def _shown(page: Page) -> list[str]:
    ids: list[str] = page.locator("#found tbody tr[data-job]").evaluate_all(
        "rs => rs.map(r => r.dataset.job)"
    )
    return ids


def test_the_jobs_page_finds_by_task_and_every_tag(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    both = _enqueue(http, queue="a", task="bill", tags=["tenant:7", "urgent"])
    only = _enqueue(http, queue="b", task="bill", tags=["tenant:7"])
    other = _enqueue(http, queue="a", task="mail", tags=["urgent"])
    page.goto(f"{server.url}/#/jobs")
    expect(page.locator("#found-count")).to_have_text("3 found")
    expect(page.locator("nav a.current")).to_have_text("Jobs")
    page.locator("#find-tags").fill("tenant:7, urgent")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#found-count")).to_have_text("1 found")
    assert _shown(page) == [both]
    assert "tag=tenant%3A7&tag=urgent" in page.url  # the search is in the hash: linkable
    page.locator("#find-tags").fill("")
    page.locator("#find-task").fill("bill")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#found-count")).to_have_text("2 found")
    assert _shown(page) == [only, both]
    page.locator("#find-state").select_option("QUEUED")
    page.locator("#find-queue").fill("b")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#found-count")).to_have_text("1 found")
    assert _shown(page) == [only]
    page.locator("#find-task").fill("nothing")
    page.get_by_role("button", name="Find").click()
    expect(page.locator("#found tbody")).to_contain_text("No jobs match.")
    page.go_back()  # Back returns to the search before
    expect(page.locator("#found-count")).to_have_text("1 found")
    assert other not in _shown(page)
    assert console.unexpected() == []


def test_the_header_box_opens_an_id_or_searches_a_tag_or_task(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    tagged = _enqueue(http, queue="h", task="resize", tags=["img"], traceparent=TRACE)
    _enqueue(http, queue="h", task="crop")
    page.goto(server.url)
    box = page.get_by_label("Open a job by id")
    box.fill("tag: img")
    box.press("Enter")
    expect(page.locator("#found-count")).to_have_text("1 found")
    box.fill("task:crop")
    box.press("Enter")
    expect(page.locator("#found tbody tr[data-job]")).to_have_count(1)
    expect(page.locator("#found tbody")).to_contain_text("crop")
    box.fill(tagged)
    box.press("Enter")
    expect(page.locator("#job-tags")).to_have_text("img")
    expect(page.locator("#job-trace")).to_have_text(TRACE)
    page.locator("#job-tags a.tag").click()  # a tag links to the jobs that carry it
    expect(page.locator("#found-count")).to_have_text("1 found")
    assert _shown(page) == [tagged]
    assert console.unexpected() == []


def test_a_queue_list_shows_tags_and_links_to_the_search(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    _enqueue(http, queue="lq", tags=["red", "blue"])
    _enqueue(http, queue="other", tags=["red"])
    page.goto(f"{server.url}/#/queue/lq/jobs/QUEUED")
    expect(page.locator("#jobs tbody td.tags")).to_have_text("redblue")
    page.locator("#find-here").click()
    expect(page.locator("#find-queue")).to_have_value("lq")
    expect(page.locator("#found-count")).to_have_text("1 found")
    assert console.unexpected() == []
