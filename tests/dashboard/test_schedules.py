"""The Schedules page in a real browser against a real server: what ``/schedules`` says,
and each action (pause, resume, trigger, delete) after its confirmation."""

from __future__ import annotations

import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.conftest import FAST
from tests.dashboard.conftest import Console, unavailable
from tests.support.server import ServerProcess

if TYPE_CHECKING:
    from playwright.sync_api import Page

if (reason := unavailable()) is not None:
    if os.environ.get("LEASEQ_TEST_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"LEASEQ_TEST_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason, allow_module_level=True)
from playwright.sync_api import expect

SCREENSHOT = (
    Path(__file__).parents[2] / "docs"
    if os.environ.get("LEASEQ_UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir())
) / "dashboard-schedules.png"
"""``docs/`` only when asked (``LEASEQ_UPDATE_SCREENSHOTS=1``): a test run must not rewrite
tracked files."""
JOB = {"payload": {"args": [], "kwargs": {}}, "queue": "reports", "task": "build"}


def _put(http: httpx.Client, name: str, **body: Any) -> dict[str, Any]:
    r = http.put(f"/schedules/{name}", json={"job": JOB, **body})
    assert r.status_code in (200, 201), r.text
    schedule: dict[str, Any] = r.json()["schedule"]
    return schedule


def _schedule(http: httpx.Client, name: str) -> dict[str, Any]:
    schedule: dict[str, Any] = http.get(f"/schedules/{name}").json()["schedule"]
    return schedule


def _wait_for_a_slot(http: httpx.Client, name: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        schedule = _schedule(http, name)
        if schedule["last_job_id"]:
            return schedule
        time.sleep(0.1)
    raise AssertionError(f"{name} took no slot in 10 s")


def test_the_page_shows_schedules_and_links_the_last_job(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    _put(http, "nightly", cron="30 2 * * *", timezone="Europe/Berlin")
    _put(http, "tick", every=1, overlap="skip")
    _put(http, "quiet", every=3600, paused=True)
    tick = _wait_for_a_slot(http, "tick")
    page.goto(server.url)
    page.get_by_role("link", name="Schedules").click()
    expect(page.locator("nav a.current")).to_have_text("Schedules")
    rows = page.locator("#schedules tbody tr[data-schedule]")
    expect(rows).to_have_count(3)
    names = rows.evaluate_all("rs => rs.map(r => r.dataset.schedule)")
    assert names == ["nightly", "quiet", "tick"]
    nightly = page.locator("tr[data-schedule=nightly]")
    expect(nightly).to_contain_text("30 2 * * *")
    expect(nightly).to_contain_text("Europe/Berlin")
    expect(nightly.locator("td[data-col=next] time")).to_have_attribute(
        "datetime", _schedule(http, "nightly")["next_run_at"]
    )
    expect(nightly.locator("td[data-col=last]")).to_have_text("\u2013")  # none yet
    quiet = page.locator("tr[data-schedule=quiet]")
    expect(quiet.locator(".badge.paused")).to_have_text("paused")
    expect(quiet.get_by_role("button", name="Resume")).to_be_visible()
    row = page.locator("tr[data-schedule=tick]")
    expect(row).to_contain_text("every 1 s")
    expect(row).to_contain_text("skip overlap")
    expect(row.locator("td[data-col=last] time")).to_be_visible()
    expect(page.locator("main")).not_to_contain_text("null")  # no stray text
    page.reload()  # the slot of the screenshot is a fresh one
    page.screenshot(path=SCREENSHOT, full_page=True)
    link = page.locator("tr[data-schedule=tick] td[data-col=job] a")
    job_id = link.inner_text()
    assert job_id  # the last job then, or a newer one since the reload
    link.click()
    expect(page.locator("h1")).to_contain_text(job_id)
    assert job_id == tick["last_job_id"] or http.get(f"/jobs/{job_id}").status_code == 200
    assert console.unexpected() == []


def test_pause_resume_trigger_and_delete_each_ask_first(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    _put(http, "nightly", cron="0 3 * * *")
    asked: list[str] = []
    page.on("dialog", lambda d: asked.append(d.message))  # the conftest's handler accepts
    page.goto(f"{server.url}/#/schedules")
    row = page.locator("tr[data-schedule=nightly]")

    row.get_by_role("button", name="Pause").click()
    expect(row.locator(".badge.paused")).to_be_visible()
    assert _schedule(http, "nightly")["paused"] is True
    assert "Pause schedule nightly?" in asked[-1]

    row.get_by_role("button", name="Resume").click()
    expect(row.get_by_role("button", name="Pause")).to_be_visible()
    assert _schedule(http, "nightly")["paused"] is False
    assert "not replayed" in asked[-1]

    row.get_by_role("button", name="Trigger").click()
    expect(page.locator("#flash")).to_contain_text("Enqueued job ")
    job_id = page.locator("#flash").inner_text().removeprefix("Enqueued job ").rstrip(".")
    job = http.get(f"/jobs/{job_id}").json()["job"]
    assert (job["queue"], job["task"], job["state"]) == ("reports", "build", "QUEUED")

    # The user says no: nothing happens. (The native confirm is put back afterwards.)
    page.evaluate("window.realConfirm = window.confirm; window.confirm = () => false")
    row.get_by_role("button", name="Delete").click()
    expect(row).to_be_visible()
    assert http.get("/schedules/nightly").status_code == 200
    page.evaluate("window.confirm = window.realConfirm")
    row.get_by_role("button", name="Delete").click()
    expect(page.locator("#schedules tbody")).to_contain_text("No schedules.")
    assert http.get("/schedules/nightly").status_code == 404
    assert "The jobs it enqueued stay." in asked[-1]
    assert console.unexpected() == []


def test_a_read_token_sees_the_page_and_loses_the_buttons_at_the_first_403(
    page: Page, server_factory: Callable[..., ServerProcess], console: Console
) -> None:
    secured = server_factory(*FAST, "--token", "read:r-secret", "--token", "the-admin")
    with httpx.Client(base_url=secured.url, headers={"Authorization": "Bearer the-admin"}) as c:
        _put(c, "nightly", cron="0 3 * * *")
    page.goto(f"{secured.url}/#/schedules")
    dialog = page.locator("#token-dialog")
    dialog.locator("input").fill("r-secret")
    dialog.get_by_role("button", name="Use token").click()
    row = page.locator("tr[data-schedule=nightly]")
    row.get_by_role("button", name="Pause").click()
    expect(page.locator("#flash")).to_have_text("Failed: a read token may not do this")
    expect(row.locator("td.actions button")).to_have_count(0)
    expect(row.get_by_role("button")).to_have_text(["runs"])  # reading the history stays
    expect(page.locator("main")).to_contain_text("need an admin token")
    assert console.unexpected(401, 403) == []


def test_runs_opens_the_history_of_slots_and_triggers(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    _put(http, "tick", every=1)
    _wait_for_a_slot(http, "tick")
    assert http.post("/schedules/tick/trigger").status_code == 201
    _put(http, "quiet", every=3600, paused=True)
    page.goto(f"{server.url}/#/schedules")
    page.locator("tr[data-schedule=tick]").get_by_role("button", name="runs").click()
    history = page.locator("tr[data-runs-of=tick] tbody tr")
    expect(history.first).to_have_attribute("data-outcome", "manual")  # newest first
    expect(history.first).to_contain_text("trigger")
    slots = page.locator("tr[data-runs-of=tick] tbody tr[data-outcome=enqueued]")
    expect(slots.first.locator("td").nth(1)).to_have_text(re.compile(r"^\d+\.\d\d s$"))
    expect(slots.first.locator("a")).to_have_count(1)  # its job, linked
    page.locator("tr[data-schedule=quiet]").get_by_role("button", name="runs").click()
    expect(page.locator("tr[data-runs-of=quiet]")).to_contain_text("No runs yet.")
    page.locator("tr[data-schedule=tick]").get_by_role("button", name="runs").click()
    expect(page.locator("tr[data-runs-of=tick]")).to_have_count(0)  # closed again
    assert console.unexpected() == []
