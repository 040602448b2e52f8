"""The reaper's logging during an outage: one warning, not one per tick."""

from __future__ import annotations

import asyncio
import logging
from types import SimpleNamespace
from typing import Any

import pytest

from leaseq.errors import StorageReadOnly
from leaseq.server import reaper as reaper_module
from leaseq.server.reaper import Reaper


class FlakyService:
    """Fails ``failures`` passes with a read-only store, then succeeds."""

    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.passes = 0
        self.settings = SimpleNamespace(reap_interval=0.001)
        self.schedules = SimpleNamespace(run=self.run_schedules)

    async def expire_leases(self, limit: int) -> list[Any]:
        self.passes += 1
        if self.passes <= self.failures:
            raise StorageReadOnly("the database is read-only")
        return []

    async def purge_finished(self, limit: int) -> int:
        return 0

    async def run_schedules(self, limit: int) -> list[Any]:
        return []


async def _run_until(service: FlakyService, passes: int) -> None:
    reaper = Reaper(service)  # type: ignore[arg-type]
    reaper.start()
    for _ in range(5000):  # bounded: a pass takes about a millisecond
        if service.passes >= passes:
            break
        await asyncio.sleep(0.001)
    await reaper.stop()


def test_an_outage_warns_once_then_reminds_then_says_it_is_over(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(reaper_module, "REMIND_EVERY", 10)
    service = FlakyService(failures=25)
    with caplog.at_level(logging.DEBUG, logger="leaseq.server.reaper"):
        asyncio.run(_run_until(service, passes=30))
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == [
        "reaper pass failed (1 in a row): the database is read-only",
        "reaper pass failed (11 in a row): the database is read-only",
        "reaper pass failed (21 in a row): the database is read-only",
    ]
    debug = [r for r in caplog.records if r.levelno == logging.DEBUG]
    assert len(debug) == 22  # the other failed passes are still there at debug level
    infos = [r.getMessage() for r in caplog.records if r.levelno == logging.INFO]
    assert infos == ["reaper passes succeed again, after 25 failed"]
