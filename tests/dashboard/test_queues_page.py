"""The overview's queue table in a real browser: paused queues and limits as /queues says,
and the pause and resume buttons, their confirmation and their refusal."""

from __future__ import annotations

import os
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
    from playwright.sync_api import Locator, Page

if (reason := unavailable()) is not None:
    if os.environ.get("LEASEQ_TEST_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"LEASEQ_TEST_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason, allow_module_level=True)
from playwright.sync_api import expect

NONE = "\u2013"
"""What a cell shows for no value (an en dash), as on every page."""
SCREENSHOT = Path(os.environ.get("LEASEQ_SCREENSHOT_DIR", "/tmp")) / "dashboard-queues.png"


def row(page: Page, queue: str) -> Locator:
    return page.locator(f"#queues tr[data-queue='{queue}']")


def confirm(page: Page, button: str) -> None:
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name=button).click()
    expect(dialog).to_have_count(0)


def polled(http: httpx.Client, queue: str) -> int:
    r = http.post("/poll", json={"worker_id": "w", "queues": [queue], "max_jobs": 10})
    assert r.status_code == 200, r.text
    return len(r.json()["jobs"])


def test_limits_and_paused_queues_are_shown(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    jobs.enqueue(http, "emails", 4)
    jobs.enqueue(http, "reports", 2)
    body = {"concurrency": 5, "rate_limit": {"count": 10, "per_s": 1}, "key_concurrency": 1}
    assert http.patch("/queues/emails", json=body).status_code == 200
    assert http.post("/queues/idle/pause").status_code == 200  # settings only, no jobs
    page.goto(server.url)
    expect(row(page, "emails").locator("td[data-col=limits]")).to_have_text(
        "5 at once · 10/1s · 1 per key"
    )
    expect(row(page, "reports").locator("td[data-col=limits]")).to_have_text(NONE)
    expect(row(page, "idle").locator(".badge.paused")).to_have_text("paused")
    expect(row(page, "idle").locator("td[data-col=QUEUED]")).to_have_text("0")
    expect(row(page, "emails").locator(".badge")).to_have_count(0)
    expect(row(page, "emails").locator("td[data-col=QUEUED]")).to_have_text("4")
    # A change made elsewhere (the CLI, another tab) shows at the next sample.
    http.patch("/queues/reports", json={"rate_limit": {"count": 100, "per_s": 60}})
    expect(row(page, "reports").locator("td[data-col=limits]")).to_have_text("100/1m")
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    assert console.unexpected() == []


def test_pause_then_resume_by_clicking(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    jobs.enqueue(http, "emails", 3)
    page.goto(server.url)
    emails = row(page, "emails")
    emails.get_by_role("button", name="Pause").click()
    confirm(page, "Pause")
    expect(page.locator("#flash")).to_have_text("Paused emails.")
    expect(emails.locator(".badge.paused")).to_be_visible()
    expect(emails.get_by_role("button", name="Resume")).to_be_visible()
    assert http.get("/queues/emails").json()["queue"]["paused"] is True
    assert polled(http, "emails") == 0
    emails.get_by_role("button", name="Resume").click()
    confirm(page, "Resume")
    expect(page.locator("#flash")).to_have_text("Resumed emails.")
    expect(emails.locator(".badge")).to_have_count(0)
    expect(emails.get_by_role("button", name="Pause")).to_be_visible()
    assert polled(http, "emails") == 3
    assert console.unexpected() == []


def test_the_confirmation_can_be_cancelled(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    jobs.enqueue(http, "emails", 1)
    page.goto(server.url)
    emails = row(page, "emails")
    emails.get_by_role("button", name="Pause").click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.screenshot(path=str(SCREENSHOT.with_name("dashboard-confirm.png")))
    confirm(page, "Cancel")
    emails.get_by_role("button", name="Pause").click()
    expect(page.locator("#confirm-dialog")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator("#confirm-dialog")).to_have_count(0)
    page.wait_for_timeout(300)
    assert http.get("/queues/emails").json()["queue"]["paused"] is False
    expect(emails.locator(".badge")).to_have_count(0)
    assert polled(http, "emails") == 1
    assert console.unexpected() == []


def test_a_token_that_may_not_steer_gets_disabled_buttons(
    page: Page, server_factory: Callable[..., ServerProcess], console: Console
) -> None:
    secured = server_factory(*FAST, "--token", "read:r-secret", "--token", "the-admin")
    with httpx.Client(base_url=secured.url, headers={"Authorization": "Bearer the-admin"}) as c:
        jobs.enqueue(c, "emails", 1)
    page.goto(secured.url)
    dialog = page.locator("#token-dialog")
    dialog.locator("input").fill("r-secret")
    dialog.get_by_role("button", name="Use token").click()
    button = row(page, "emails").get_by_role("button", name="Pause")
    button.click()
    confirm(page, "Pause")
    expect(page.locator("#flash")).to_have_text("Failed: a read token may not do this")
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("title", "Not allowed: a read token may not do this")
    expect(row(page, "emails").locator(".badge")).to_have_count(0)
    # Another token (here the admin's) is worth another try: the buttons come back.
    page.evaluate("sessionStorage.setItem('leaseq.token', 'the-admin')")
    expect(button).to_be_enabled()
    button.click()
    confirm(page, "Pause")
    expect(row(page, "emails").locator(".badge.paused")).to_be_visible()
    assert console.unexpected(401, 403) == []
