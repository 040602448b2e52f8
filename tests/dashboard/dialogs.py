"""The confirmation every destructive action asks for: a <dialog>, Cancel focused."""

from __future__ import annotations

from typing import TYPE_CHECKING

from playwright.sync_api import expect

if TYPE_CHECKING:
    from playwright.sync_api import Page


def answer(page: Page, ok: bool = True) -> None:
    """Checks that the dialog is open with the focus on its way back (Cancel, or Keep
    where the action is a cancel), then answers it."""
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog.locator("button[value=cancel]")).to_be_focused()
    dialog.locator("button.confirm" if ok else "button[value=cancel]").click()
    expect(dialog).to_have_count(0)
