"""A long poll on a store whose wake-ups can be lost claims again every ``recheck_s``."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from leaseq.core.clock import SystemClock
from leaseq.core.model import NewJob
from leaseq.server.config import Settings
from leaseq.server.service import QueueService
from leaseq.server.storage.sqlite import SQLiteStorage


class LossyStore(SQLiteStorage):
    """Stands in for a store whose notifications travel over a connection that dropped:
    jobs written straight to it wake nobody."""

    recheck_s = 0.2


async def _waited_for_a_silent_enqueue(store: SQLiteStorage) -> tuple[int, float]:
    await store.open()
    try:
        service = QueueService(store, Settings())
        poll = asyncio.create_task(service.poll("w", ["q"], wait=3))
        await asyncio.sleep(0.1)
        start = time.monotonic()
        await store.enqueue([NewJob(payload="1", queue="q")])  # bypasses the notifier
        jobs = await poll
        return len(jobs), time.monotonic() - start
    finally:
        await store.close()


async def test_a_lost_wake_up_only_delays_the_job(tmp_path: Path) -> None:
    got, waited = await _waited_for_a_silent_enqueue(
        LossyStore(str(tmp_path / "a.db"), SystemClock())
    )
    assert got == 1 and waited < 1.0


async def test_without_the_capability_the_poll_relies_on_wake_ups(tmp_path: Path) -> None:
    got, waited = await _waited_for_a_silent_enqueue(
        SQLiteStorage(str(tmp_path / "b.db"), SystemClock())
    )
    assert got == 1 and waited > 2.5  # found only by the final claim when the wait ended
