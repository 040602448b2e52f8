"""The dashboard in a real browser against a real server: it shows what the API says."""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.conftest import FAST
from tests.dashboard import jobs
from tests.dashboard.conftest import Console, unavailable
from tests.support.server import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import Page, Route

if (reason := unavailable()) is not None:
    # CI sets LEASEQ_TEST_REQUIRE_BROWSER=1 so that a missing browser fails, not skips.
    if os.environ.get("LEASEQ_TEST_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"LEASEQ_TEST_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason, allow_module_level=True)
# Imported after the skip, because it may not be installed.
from playwright.sync_api import expect

from tests.dashboard.dialogs import answer

NOT_FOUND = {"error": {"code": "not_found", "message": "no such route"}}
SCREENSHOT = (
    Path(__file__).parents[2] / "docs"
    if os.environ.get("LEASEQ_UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir())
) / "dashboard.png"
"""``docs/`` only when asked (``LEASEQ_UPDATE_SCREENSHOTS=1``): a test run must not rewrite
tracked files."""


def test_overview_shows_the_counts_of_stats(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    jobs.kill(http, "emails", ["SMTP timeout", "SMTP timeout", "bad address"])
    jobs.enqueue(http, "emails", 5)
    jobs.finish(http, "emails", 2)
    jobs.enqueue(http, "reports", 3)
    jobs.lease(http, "reports", 1)
    page.goto(server.url)
    expect(page.locator("#queues tr[data-queue=reports]")).to_be_visible()
    stats = http.get("/stats").json()["queues"]
    for queue, counts in stats.items():
        row = page.locator(f"#queues tr[data-queue={queue}]")
        for state in ("QUEUED", "LEASED", "DONE", "DEAD", "CANCELLED"):
            expect(row.locator(f"td[data-col={state}]")).to_have_text(str(counts[state]))
    assert console.unexpected() == []
    page.locator("#queues tr[data-queue=reports] td[data-col=QUEUED] a").click()
    expect(page.locator("#jobs tbody tr[data-job]")).to_have_count(2)  # 3 enqueued, 1 leased
    expect(page.locator("nav.tabs a.current")).to_have_text("QUEUED")


def test_throughput_chart_is_live_and_screenshot(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    jobs.kill(http, "emails", ["SMTP timeout: 421 try again later"] * 3 + ["bad address"])
    jobs.enqueue(http, "emails", 400)
    jobs.enqueue(http, "reports", 200, delay=0)
    jobs.finish(http, "emails", 50)
    page.goto(server.url)
    # Full on load, from the server's minutes: no sample of the page's own is needed, and
    # the 4 DEAD jobs are failures, not throughput.
    legend = page.locator("#chart-legend")
    expect(legend).to_contain_text("done 50", timeout=1500)
    expect(legend).to_contain_text("dead 4")
    stop = threading.Event()

    def work() -> None:
        with httpx.Client(base_url=server.url) as worker:
            for rate in [5, 10, 20, 30, 25, 15, 30, 40, 30, 20, 35, 25] * 2:
                if stop.is_set():
                    return
                jobs.finish(worker, "emails", rate // 2)
                jobs.finish(worker, "reports", rate // 4)
                time.sleep(0.5)

    thread = threading.Thread(target=work)
    thread.start()
    try:
        expect(page.locator("#throughput-now")).to_contain_text("jobs/s", timeout=15_000)
        thread.join(30)
    finally:
        stop.set()
        thread.join()
    time.sleep(2.5)  # one more sample after the last ack
    expect(legend).not_to_contain_text("done 50 ")
    done = sum(m["done"] for m in http.get("/stats/history").json()["minutes"])
    expect(legend).to_contain_text(f"done {done:,}")
    page.screenshot(path=SCREENSHOT, full_page=True)
    assert console.unexpected() == []


def test_a_dead_job_is_requeued_by_clicking(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    first, second = jobs.kill(http, "emails", ["boom", "boom"])
    page.goto(f"{server.url}/#/queue/emails/dead")
    row = page.locator(f"#dead tr[data-job='{first}']")
    expect(row.locator("td.error")).to_have_text("boom")
    expect(page.locator("#groups tr", has_text="boom")).to_be_visible()
    expect(page.locator("#groups")).not_to_contain_text("null")  # no stray text under the table
    row.get_by_role("button", name="Requeue").click()
    answer(page, ok=False)  # declined: nothing moves
    assert jobs.state(http, first) == "DEAD"
    row.get_by_role("button", name="Requeue").click()
    answer(page)
    expect(row).to_have_count(0)
    expect(page.locator(f"#dead tr[data-job='{second}']")).to_be_visible()
    assert jobs.state(http, first) == "QUEUED"
    assert jobs.state(http, second) == "DEAD"
    assert console.unexpected() == []


def test_a_selection_is_cancelled_and_a_group_requeued(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    a, b, c = jobs.kill(http, "emails", ["timeout", "timeout", "refused"])
    page.goto(f"{server.url}/#/queue/emails/dead")
    page.get_by_label(f"Select {c}").check()
    page.locator("#cancel-selected").click()
    answer(page)
    expect(page.locator(f"#dead tr[data-job='{c}']")).to_have_count(0)
    assert jobs.state(http, c) == "CANCELLED"
    group = page.locator("#groups tr", has_text="timeout")
    expect(group.locator("td.num")).to_have_text("2")
    group.get_by_role("button", name="Requeue all").click()
    answer(page)
    expect(page.locator("#dead tbody")).to_contain_text("The dead letter queue is empty.")
    assert {jobs.state(http, a), jobs.state(http, b)} == {"QUEUED"}
    assert console.unexpected() == []


def test_the_job_page_shows_user_data_as_text(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    evil = "<img src=x onerror=\"document.title='owned'\">"
    r = http.post("/enqueue", json={"queue": "q", "payload": {"html": evil}, "max_tries": 2})
    job_id = r.json()["job"]["id"]
    (leased,) = jobs.lease(http, "q", 1, worker="worker-7")
    http.post("/fail", json={"job_id": job_id, "lease_token": leased["lease_token"], "error": evil})
    page.goto(f"{server.url}/#/job/{job_id}")
    expect(page.locator("#job-state")).to_have_text("QUEUED")
    expect(page.locator("#job-error-headline")).to_have_text(evil)
    expect(page.locator("pre.json").first).to_contain_text(evil.replace('"', '\\"'))
    assert page.locator("#view img").count() == 0 and page.title() == "leaseq"
    expect(page.locator("#job-fields")).to_contain_text("1 of 2")
    history = page.locator("#history")
    expect(history.locator("tr[data-kind=failed] td.error")).to_have_text(evil)
    expect(history.locator("tr[data-kind=leased]")).to_contain_text("worker-7")
    expect(history.locator("tbody tr")).to_have_count(3)  # enqueued, leased, failed
    assert console.unexpected() == []


def test_a_long_history_shows_one_page_then_more(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    (job_id,) = jobs.enqueue(http, "long", 1)
    (leased,) = jobs.lease(http, "long", 1)
    beat = {"job_id": job_id, "lease_token": leased["lease_token"]}
    url = f"/jobs/{job_id}/events"
    for _ in range(20):  # a heartbeat in the same millisecond adds no event
        total = len(http.get(url, params={"limit": 1000}).json()["events"])
        if total > 120:
            break
        for _ in range(30):
            assert http.post("/heartbeat", json=beat).status_code == 200
    assert total > 120
    page.goto(f"{server.url}/#/job/{job_id}")
    rows = page.locator("#history tbody tr")
    expect(rows).to_have_count(100)
    expect(rows.first).to_have_attribute("data-kind", "enqueued")
    page.locator("#history-more").click()
    expect(rows).to_have_count(total)
    expect(page.locator("#history-more")).to_be_hidden()
    assert console.unexpected() == []


def test_the_workers_page(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    jobs.enqueue(http, "q", 1)
    (held,) = jobs.lease(http, "q", 1, worker="worker-9")
    r = http.post("/poll", json={"worker_id": "worker-9", "queues": ["q", "p"], "concurrency": 4})
    assert r.status_code == 200, r.text
    page.goto(f"{server.url}/#/workers")
    row = page.locator("#workers tr[data-worker=worker-9]")
    expect(row).to_contain_text(held["id"])
    expect(row.locator("td.queues")).to_have_text("q, p")
    expect(row.locator("td.concurrency")).to_have_text("1 / 4")
    row.get_by_role("link", name=held["id"]).click()
    expect(page.locator("#job-state")).to_have_text("LEASED")
    assert console.unexpected() == []


def test_a_401_asks_for_a_token_once_and_retries(
    page: Page, server: ServerProcess, console: Console
) -> None:
    seen: list[str | None] = []

    def guard(route: Route) -> None:
        auth = route.request.headers.get("authorization")
        seen.append(auth)
        if auth == "Bearer s3cret":
            route.continue_()
        else:
            route.fulfill(status=401, json={"error": {"code": "unauthorized", "message": "token"}})

    page.route("**/stats", guard)
    page.goto(server.url)
    dialog = page.locator("#token-dialog")
    expect(dialog).to_be_visible()
    dialog.locator("input").fill("s3cret")
    dialog.get_by_role("button", name="Use token").click()
    expect(page.locator("#live")).to_contain_text("live")
    assert page.evaluate("sessionStorage.getItem('leaseq.token')") == "s3cret"
    assert seen[:2] == [None, "Bearer s3cret"]
    assert console.unexpected(401) == []


def test_an_api_error_is_shown_not_hidden(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    for path in ("**/jobs/*/events?*", "**/workers", "**/dead/groups?*"):
        page.route(path, lambda route: route.fulfill(status=404, json=NOT_FOUND))
    (dead,) = jobs.kill(http, "emails", ["gone"])
    for url in (f"#/job/{dead}", "#/workers", "#/queue/emails/dead"):
        page.goto(f"{server.url}/{url}")
        expect(page.locator("#view h1")).to_have_text("Something went wrong")
        expect(page.locator("#view p.error")).to_have_text("404 no such route")
    assert console.unexpected(404) == []


def test_requeue_all_of_a_group_larger_than_one_request(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    jobs.expire(http, "bulk", 1500)
    page.goto(f"{server.url}/#/queue/bulk/dead")
    group = page.locator("#groups tr", has_text="lease expired")
    expect(group.locator("td.num")).to_have_text("1,500")
    group.get_by_role("button", name="Requeue all").click()
    answer(page)
    expect(page.locator("#flash")).to_have_text("Requeued 1500 job(s).")
    expect(page.locator("#groups")).to_contain_text("No dead jobs.")
    assert http.get("/stats").json()["queues"]["bulk"]["DEAD"] == 0
    assert console.unexpected() == []


def test_a_declined_token_prompt_stays_closed_until_sign_in(
    page: Page, server: ServerProcess, console: Console
) -> None:
    asked: list[str | None] = []

    def guard(route: Route) -> None:
        asked.append(route.request.headers.get("authorization"))
        if asked[-1] == "Bearer s3cret":
            route.continue_()
        else:
            route.fulfill(status=401, json={"error": {"code": "unauthorized", "message": "no"}})

    page.route("**/stats", guard)
    page.goto(server.url)
    dialog = page.locator("#token-dialog")
    dialog.get_by_role("button", name="Cancel").click()
    sign_in = page.locator("#live").get_by_role("button", name="Sign in")
    expect(sign_in).to_be_visible()
    polls = len(asked)
    page.wait_for_timeout(2500)  # at least one more poll, which must not reopen the prompt
    assert len(asked) > polls and dialog.is_hidden()
    sign_in.click()
    dialog.locator("input").fill("s3cret")
    dialog.get_by_role("button", name="Use token").click()
    expect(page.locator("#live")).to_contain_text("live", timeout=5000)
    assert console.unexpected(401) == []


def test_against_a_server_with_role_tokens(
    page: Page, server_factory: Callable[..., ServerProcess], console: Console
) -> None:
    secured = server_factory(*FAST, "--token", "read:r-secret", "--token", "the-admin")
    with httpx.Client(base_url=secured.url, headers={"Authorization": "Bearer the-admin"}) as c:
        (dead,) = jobs.kill(c, "emails", ["boom"])
    page.goto(f"{secured.url}/#/queue/emails/dead")
    dialog = page.locator("#token-dialog")
    dialog.locator("input").fill("r-secret")
    dialog.get_by_role("button", name="Use token").click()
    row = page.locator(f"#dead tr[data-job='{dead}']")
    row.get_by_role("button", name="Requeue").click()
    answer(page)
    expect(page.locator("#flash")).to_have_text("Failed: a read token may not do this")
    expect(row).to_be_visible()
    expect(page.locator("#live")).to_contain_text("live")
    assert console.unexpected(401, 403) == []


def test_a_refused_token_is_asked_for_again(
    page: Page, server_factory: Callable[..., ServerProcess], console: Console
) -> None:
    secured = server_factory(*FAST, "--token", "the-admin")
    page.goto(secured.url)
    dialog = page.locator("#token-dialog")
    dialog.locator("input").fill("wrong")
    dialog.get_by_role("button", name="Use token").click()
    expect(dialog).to_contain_text("The server refused that token.")
    dialog.locator("input").fill("the-admin")
    dialog.get_by_role("button", name="Use token").click()
    expect(page.locator("#live")).to_contain_text("live")
    assert page.evaluate("sessionStorage.getItem('leaseq.token')") == "the-admin"
    assert console.unexpected(401) == []
