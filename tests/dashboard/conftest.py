"""A real headless Chromium, driven by Playwright's sync API, against a real server.

The browser is Debian's ``chromium`` (Playwright cannot download its own here), so these
tests skip when it or the ``ui-test`` extra is missing.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = os.environ.get("LEASEQ_TEST_CHROMIUM", "/usr/bin/chromium")


def unavailable() -> str | None:
    """Why the browser tests cannot run here, or None. (A conftest cannot skip itself.)"""
    if shutil.which(CHROMIUM) is None:
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is missing (pip install -e '.[ui-test]')"
    return None


ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


@dataclass
class Console:
    """What the page reported: uncaught exceptions and console errors."""

    exceptions: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def unexpected(self, *allowed_statuses: int) -> list[str]:
        """Exceptions, and console errors other than failed loads with an allowed status."""
        allowed = tuple(f"status of {s} " for s in allowed_statuses)
        return self.exceptions + [e for e in self.errors if not any(a in e for a in allowed)]


# Package scope, not session: the sync API keeps an event loop running in this thread
# until it stops, which would break every asyncio test collected after these ones.
@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Browser, console: Console) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    context.set_default_timeout(10_000)
    page = context.new_page()
    page.on("pageerror", lambda exc: console.exceptions.append(str(exc)))
    page.on("console", lambda m: console.errors.append(m.text) if m.type == "error" else None)
    page.on("dialog", lambda dialog: dialog.accept())
    yield page
    context.close()
