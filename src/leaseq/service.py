"""QueueService: the only place where storage, the pure rules and the notifier meet.

Each HTTP route calls exactly one method here. Methods take validated domain values and
return domain objects or raise ``LeaseqError``; nothing here knows about HTTP.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial

from leaseq import transitions
from leaseq.backoff import Backoff
from leaseq.config import Settings
from leaseq.errors import JobNotFound, LeaseqError
from leaseq.model import Job, JobSpec, JobState
from leaseq.notifier import Notifier
from leaseq.storage import Page, QueueStats, Rule, Storage

log = logging.getLogger("leaseq.service")

REQUEUE_CHUNK = 1000


@dataclass(frozen=True, slots=True)
class AckItem:
    job_id: str
    lease_token: str
    result: str | None = None


class QueueService:
    def __init__(self, storage: Storage, settings: Settings, notifier: Notifier | None = None):
        self.storage = storage
        self.settings = settings
        self.notifier = notifier or Notifier()
        # Jobs made ready through another node (shared PostgreSQL) wake our polls too.
        storage.set_wakeup(self.notifier.notify)
        self.backoff = Backoff(settings.retry_base, settings.retry_cap)

    async def enqueue(self, specs: Sequence[JobSpec]) -> list[tuple[Job, bool]]:
        created = await self.storage.enqueue(specs)
        self.notifier.notify(job.queue for job, new in created if new)
        return created

    async def poll(
        self,
        worker_id: str,
        queues: Sequence[str],
        max_jobs: int = 1,
        lease_seconds: float | None = None,
        wait: float = 0.0,
    ) -> list[Job]:
        """Leases up to ``max_jobs``; with ``wait`` it holds until a job is ready, a
        notification arrives, the wait ends, or the server shuts down."""
        lease_ms = round((lease_seconds or self.settings.lease_seconds) * 1000)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + wait
        while True:
            woken = self.notifier.subscribe(queues)
            try:
                jobs = await self.storage.claim(queues, worker_id, max_jobs, lease_ms)
                remaining = deadline - loop.time()
                if jobs or remaining <= 0 or self.notifier.closed:
                    return jobs
                # Sleep until notified, or until a delayed job or retry becomes ready.
                next_ready = await self.storage.next_ready_in()
                if next_ready is not None:
                    remaining = min(remaining, max(next_ready, 0.001))
                await asyncio.wait({woken}, timeout=remaining)
            finally:
                woken.cancel()

    async def ack(self, items: Sequence[AckItem]) -> list[Job | LeaseqError]:
        rules: list[tuple[str, Rule]] = [
            (item.job_id, partial(_ack_rule, item.lease_token, item.result)) for item in items
        ]
        return await self.storage.modify(rules)

    async def fail(self, job_id: str, token: str, error: str | None, retry: bool) -> Job:
        def rule(job: Job, now: int) -> Job:
            return transitions.fail(job, token, error, retry, now, self.backoff)

        job = await self._modify_one(job_id, rule)
        if job.state is JobState.QUEUED:
            self.notifier.notify([job.queue])  # pollers re-arm their timer for run_at
        return job

    async def heartbeat(self, job_id: str, token: str, lease_seconds: float | None) -> Job:
        lease_ms = round((lease_seconds or self.settings.lease_seconds) * 1000)
        return await self._modify_one(
            job_id, lambda job, now: transitions.heartbeat(job, token, lease_ms, now)
        )

    async def release(self, job_id: str, token: str) -> Job:
        job = await self._modify_one(job_id, lambda j, now: transitions.release(j, token, now))
        self.notifier.notify([job.queue])
        return job

    async def cancel(self, job_id: str) -> Job:
        return await self._modify_one(job_id, transitions.cancel)

    async def requeue_dead(self, job_ids: Sequence[str] | None, queue: str | None) -> int:
        """Requeues the given DEAD jobs, or every DEAD job of ``queue`` in chunks (jobs
        that die again meanwhile are not chased: the walk only moves forward)."""
        if job_ids is not None:
            return await self._requeue(job_ids)
        assert queue is not None
        total, after = 0, None
        while ids := await self.storage.dead_ids(queue, after, REQUEUE_CHUNK):
            total += await self._requeue(ids)
            after = ids[-1]
        return total

    async def _requeue(self, job_ids: Sequence[str]) -> int:
        results = await self.storage.modify([(i, transitions.requeue) for i in job_ids])
        requeued = [r for r in results if isinstance(r, Job)]
        self.notifier.notify(job.queue for job in requeued)
        return len(requeued)

    async def get(self, job_id: str) -> Job:
        job = await self.storage.get(job_id)
        if job is None:
            raise JobNotFound(f"no job with id {job_id!r}")
        return job

    async def list_jobs(
        self, state: JobState | None, queue: str | None, limit: int, cursor: str | None
    ) -> Page:
        return await self.storage.list_jobs(state, queue, limit, cursor)

    async def stats(self) -> dict[str, QueueStats]:
        return await self.storage.stats()

    async def _modify_one(self, job_id: str, rule: Rule) -> Job:
        (outcome,) = await self.storage.modify([(job_id, rule)])
        if isinstance(outcome, LeaseqError):
            raise outcome
        return outcome


def _ack_rule(token: str, result: str | None, job: Job, now: int) -> Job:
    return transitions.ack(job, token, result, now)
