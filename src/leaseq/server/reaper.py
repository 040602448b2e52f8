"""The periodic housekeeping task: expired leases back to the queue, old jobs purged, and
the due slots of schedules taken (every node runs it; the store takes each slot once)."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from leaseq.core.limits import MAX_BATCH
from leaseq.errors import LeaseqError
from leaseq.server.service import QueueService

log = logging.getLogger("leaseq.server.reaper")

BATCH = MAX_BATCH
REMIND_EVERY = 60  # failed passes between two warnings of one outage


class Reaper:
    def __init__(self, service: QueueService) -> None:
        self._service = service
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="leaseq-reaper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def run_once(self) -> int:
        """One pass; returns how many leases it expired. Loops while full batches come
        back, so a backlog is cleared in one tick without unbounded single statements.
        Schedules come last: a scheduler step that fails does not hold up lease expiry."""
        expired_total = 0
        while True:
            expired = await self._service.expire_leases(BATCH)
            expired_total += len(expired)
            if len(expired) < BATCH:
                break
        while await self._service.purge_finished(BATCH) == BATCH:
            pass
        while len(await self._service.schedules.run(BATCH)) == BATCH:
            pass
        return expired_total

    async def _loop(self) -> None:
        """Runs a pass every ``reap_interval``. A store that is read-only or unreachable
        fails every pass: that is one warning when it starts, a reminder every
        ``REMIND_EVERY`` passes and a line when passes succeed again, not a warning a
        second."""
        interval = self._service.settings.reap_interval
        failed = 0
        while True:
            try:
                await self.run_once()
                if failed:
                    log.info("reaper passes succeed again, after %d failed", failed)
                failed = 0
            except LeaseqError as exc:
                failed += 1
                loud = (failed - 1) % REMIND_EVERY == 0
                log.log(logging.WARNING if loud else logging.DEBUG,
                        "reaper pass failed (%d in a row): %s", failed, exc.message)  # fmt: skip
            except Exception:
                log.exception("reaper pass failed")
            await asyncio.sleep(interval)
