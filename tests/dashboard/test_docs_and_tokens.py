"""Issue 13 in a real browser: the dashboard takes a token in the ``role:secret`` form the
CLI and SDK take, and ``/docs`` shows the API with no network and no inline script."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from tests.conftest import FAST
from tests.dashboard.conftest import Console, unavailable
from tests.support.server import ServerProcess

if (reason := unavailable()) is not None:
    if os.environ.get("LEASEQ_TEST_REQUIRE_BROWSER") == "1":
        raise RuntimeError(f"LEASEQ_TEST_REQUIRE_BROWSER=1 but {reason}")
    pytest.skip(reason, allow_module_level=True)
from playwright.sync_api import expect

if TYPE_CHECKING:
    from playwright.sync_api import Page, Request

SHOT = os.environ.get("LEASEQ_TEST_DOCS_SHOT")  # a path: save what /docs looked like


def _sign_in(page: Page, url: str, token: str) -> None:
    page.goto(url)
    dialog = page.locator("#token-dialog")
    dialog.locator("input").fill(token)
    dialog.get_by_role("button", name="Use token").click()
    expect(page.locator("#live")).to_contain_text("live", timeout=5000)


@pytest.mark.parametrize("typed", ["read:r-secret", "r-secret"])
def test_the_sign_in_takes_both_forms_and_sends_the_secret(
    page: Page, server_factory: Callable[..., ServerProcess], console: Console, typed: str
) -> None:
    secured = server_factory(*FAST, "--token", "read:r-secret")
    _sign_in(page, secured.url, typed)
    assert page.evaluate("sessionStorage.getItem('leaseq.token')") == "r-secret"
    assert console.unexpected(401) == []


def test_docs_work_offline_with_the_dashboards_token(
    page: Page, server_factory: Callable[..., ServerProcess], console: Console
) -> None:
    secured = server_factory(*FAST, "--token", "read:r-secret")
    requested: list[str] = []

    def record(request: Request) -> None:
        requested.append(request.url)

    page.on("request", record)
    _sign_in(page, secured.url, "read:r-secret")
    page.goto(f"{secured.url}/docs")
    expect(page.locator(".swagger-ui .title").first).to_contain_text("leaseq", timeout=10_000)
    expect(page.locator(".opblock-summary-path", has_text="/enqueue").first).to_be_visible()
    foreign = [u for u in requested if not u.startswith(secured.url) and not u.startswith("data:")]
    assert foreign == [], foreign
    assert console.unexpected(401) == []  # the dashboard's first load, before the sign-in
    if SHOT:
        page.screenshot(path=SHOT)


def test_docs_without_a_token_say_how_to_get_one(
    page: Page, server_factory: Callable[..., ServerProcess], console: Console
) -> None:
    secured = server_factory(*FAST, "--token", "read:r-secret")
    page.goto(f"{secured.url}/docs")
    expect(page.locator("#docs-note")).to_contain_text("Sign in on the dashboard")
    assert console.unexpected(401) == []
