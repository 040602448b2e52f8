"""Waits for a job to finish (``GET /jobs/{id}?wait=``), without a connection or a thread.

A wait reads the job, and while it is not finished (``model.FINISHED``) holds only a
future here, keyed by the job's id. Each transition of the service that finishes jobs
(ack, a fail or an expiry to DEAD, cancel) completes those futures through its
``Observer``; the store completes them for jobs finished through another node
(PostgreSQL's ``finished_channel`` NOTIFY, ``Storage.set_finished``). Either way the
wait then reads the job once more and answers it. Like ``notifier``, this lives on the
event loop thread only.

A wait subscribes *before* it reads, so a transition that commits between its read and
its sleep still wakes it. A NOTIFY lost while the listener reconnects would leave a wait
to its deadline, so each wait also reads the job again every ``RECHECK_S``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

from leaseq.core.model import FINISHED, JobRecord
from leaseq.server.storage import Storage

RECHECK_S = 5.0
"""How often a wait reads its job again although nothing woke it: the safety net under
the wake-ups, which should make it never matter."""


class Finishes:
    """The futures of the waits in progress, by job id."""

    def __init__(self, storage: Storage) -> None:
        """Registers with ``storage`` for the jobs finished through other nodes."""
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}
        self._closed = False
        storage.set_finished(self.finished)

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def waiting(self) -> int:
        """Jobs someone waits for (for tests: waits leave nothing behind)."""
        return len(self._waiters)

    def subscribe(self, job_id: str) -> asyncio.Future[None]:
        """A future that completes when ``finished`` names ``job_id`` (or at close)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._closed:
            future.set_result(None)
            return future
        self._waiters.setdefault(job_id, set()).add(future)

        def forget(_: asyncio.Future[None]) -> None:
            waiting = self._waiters.get(job_id)
            if waiting is not None:
                waiting.discard(future)
                if not waiting:
                    del self._waiters[job_id]

        future.add_done_callback(forget)
        return future

    def finished(self, job_ids: Iterable[str]) -> None:
        """Wakes the waits for these jobs, which read them again."""
        for job_id in job_ids:
            for future in list(self._waiters.get(job_id, ())):
                if not future.done():
                    future.set_result(None)

    def close(self) -> None:
        """Shutdown: every wait answers now, and those still to come at once."""
        self._closed = True
        self.finished(list(self._waiters))


async def until_finished(
    read: Callable[[str], Awaitable[JobRecord]], finishes: Finishes, job_id: str, wait: float
) -> JobRecord:
    """The job once it is finished, or as it is when ``wait`` seconds have passed (or the
    server began to shut down). ``read`` raises ``JobNotFound`` for an unknown id, also
    when the job was purged while waited for."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + wait
    while True:
        woken = finishes.subscribe(job_id)
        try:
            job = await read(job_id)
            remaining = deadline - loop.time()
            if job.state in FINISHED or remaining <= 0 or finishes.closed:
                return job
            await asyncio.wait({woken}, timeout=min(remaining, RECHECK_S))
        finally:
            woken.cancel()
