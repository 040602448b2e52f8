"""The dead-letter page with structured errors: groups by exception, the exception first
and the traceback folded; the jobs' rows show the exception, not the traceback's head."""

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


def test_groups_show_the_exception_first_and_fold_the_traceback(
    page: Page, http: httpx.Client, server: ServerProcess, console: Console
) -> None:
    smtp = ("TimeoutError", "SMTP server did not answer in 30 s")
    for n in range(3):  # three tracebacks that differ, one exception: one group
        jobs.kill(http, "emails", [jobs.traceback(n, *smtp)], kind=smtp)
    (bad,) = jobs.kill(http, "emails", [jobs.traceback(9, "ValueError", "bad address")],
                       kind=("ValueError", "bad address"))  # fmt: skip
    jobs.kill(http, "emails", ["lease expired"])  # an old-style text, no type
    page.goto(f"{server.url}/#/queue/emails/dead")
    groups = page.locator("#groups tbody tr")
    expect(groups).to_have_count(3)
    first = groups.nth(0)
    expect(first.locator("td.num")).to_have_text("3")
    expect(first.locator(".headline")).to_have_text(f"{smtp[0]}: {smtp[1]}")
    expect(first.locator(".error-type")).to_have_text("TimeoutError")
    details = first.locator("details.traceback")
    expect(details.locator("pre")).not_to_be_visible()  # folded
    details.locator("summary").click()
    expect(details.locator("pre")).to_contain_text("Traceback (most recent call last)")
    plain = page.locator("#groups tbody tr", has_text="lease expired")
    expect(plain.locator("details")).to_have_count(0)  # nothing more to unfold
    # The jobs' rows: the exception, never the first lines of the traceback.
    rows = page.locator("#dead tbody td.error")
    expect(rows).to_have_count(5)
    for text in rows.all_inner_texts():
        assert "Traceback" not in text and "File " not in text, text
    expect(page.locator(f"#dead tr[data-job='{bad}'] td.error")).to_have_text(
        "ValueError: bad address"
    )
    # Show filters the jobs to the group; Requeue all takes the whole group.
    first.get_by_role("button", name="Show").click()
    expect(page.locator("#dead tbody tr[data-job]")).to_have_count(3)
    page.locator("#groups tbody tr").nth(0).get_by_role("button", name="Requeue all").click()
    answer(page)
    expect(page.locator("#flash")).to_have_text("Requeued 3 job(s).")
    expect(page.locator("#groups tbody tr")).to_have_count(2)
    assert http.get("/stats").json()["queues"]["emails"]["DEAD"] == 2
    assert console.unexpected() == []
