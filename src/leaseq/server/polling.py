"""The long poll: claim, else wait for a notification, a job coming due or the deadline.

Kept apart from ``QueueService`` (which calls it for ``poll`` and the fused
ack-and-poll) because it is the one operation that waits: it subscribes to the notifier
*before* each claim, so a job made ready between the claim and the wait still wakes it,
and it hands back what it leased if its caller went away meanwhile.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from leaseq.core.commands import Release
from leaseq.core.model import Action, JobRecord
from leaseq.server.notifier import Notifier
from leaseq.server.observe import Observer
from leaseq.server.storage import Storage


class LongPoll:
    def __init__(self, storage: Storage, notifier: Notifier, observer: Observer) -> None:
        self._storage = storage
        self._notifier = notifier
        self._observer = observer

    async def poll(
        self,
        worker_id: str,
        queues: Sequence[str],
        max_jobs: int,
        lease_ms: int,
        max_bytes: int,
        wait: float = 0.0,
        gone: asyncio.Future[None] | None = None,
        concurrency: int | None = None,
    ) -> list[JobRecord]:
        """Leases up to ``max_jobs`` (an answer of at most ``max_bytes``); with ``wait``
        it holds until a job is ready, a notification arrives, the wait ends, or the
        server shuts down.

        ``gone`` completes when the caller disconnected: the wait stops, and jobs leased
        in the meantime are released at once rather than left to run out their lease.
        ``concurrency`` is what the worker says it runs at once (the workers listing).
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            woken = self._notifier.subscribe(queues)
            try:
                jobs = await self._storage.claim(
                    queues, worker_id, max_jobs, lease_ms, max_bytes, concurrency=concurrency
                )
                if jobs.held:
                    self._observer.held_back(jobs.held)
                if gone is not None and gone.done():
                    await self._release_all(jobs)
                    return []
                remaining = deadline - loop.time()
                if jobs or remaining <= 0 or self._notifier.closed:
                    self._observer.transitioned(Action.LEASED, jobs)
                    return jobs
                await self._sleep(queues, remaining, woken, gone)
            finally:
                woken.cancel()

    async def _sleep(
        self,
        queues: Sequence[str],
        remaining: float,
        woken: asyncio.Future[None],
        gone: asyncio.Future[None] | None,
    ) -> None:
        """Until notified, the caller gone, or a delayed job or retry becomes ready."""
        next_ready = await self._storage.next_ready_in(queues)
        if next_ready is not None:
            remaining = min(remaining, max(next_ready, 0.001))
        if self._storage.recheck_s is not None:
            remaining = min(remaining, self._storage.recheck_s)
        await asyncio.wait(
            {woken} if gone is None else {woken, gone},
            timeout=remaining,
            return_when=asyncio.FIRST_COMPLETED,
        )

    async def _release_all(self, jobs: Sequence[JobRecord]) -> None:
        releases = [Release(j.id, j.lease_token or "") for j in jobs]
        if releases:
            released = [o for o in await self._storage.modify(releases) if isinstance(o, JobRecord)]
            self._notifier.notify(j.queue for j in released)
