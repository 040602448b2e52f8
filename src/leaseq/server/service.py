"""QueueService: the only place where storage, the pure rules and the notifier meet.

Each HTTP route calls exactly one method here, and never the service's parts (storage,
notifier, observer): what a route needs of them is a method here (``health``,
``metrics``). The schedule routes call one method each of ``schedules``, the service's
schedule half, which shares its store, notifier and observer. Methods take validated
domain values and return domain objects or raise ``LeaseqError``; nothing here knows
about HTTP.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from leaseq.core import limits
from leaseq.core.backoff import Backoff
from leaseq.core.clock import SystemClock
from leaseq.core.commands import Ack, Cancel, Command, Fail, Heartbeat, Release, Requeue
from leaseq.core.model import (
    Action,
    DeadGroup,
    EventListing,
    JobFilter,
    JobListing,
    JobRecord,
    JobState,
    NewJob,
    QueueCounts,
    WorkerInfo,
)
from leaseq.core.queues import QueueChange, QueueInfo, QueueSettings
from leaseq.core.transitions import TIMED_OUT
from leaseq.errors import JobNotFound, LeaseqError, QueueFull, StorageUnavailable
from leaseq.server.config import Settings
from leaseq.server.history import Minute
from leaseq.server.notifier import Notifier
from leaseq.server.observe import Observer
from leaseq.server.polling import LongPoll
from leaseq.server.schedules import Schedules
from leaseq.server.storage import Storage
from leaseq.server.waiting import Finishes, until_finished

log = logging.getLogger("leaseq.server.service")

REQUEUE_CHUNK = limits.MAX_BATCH
DEPTH_TTL_S = 0.5
HEALTH_TIMEOUT_S = 2.0

BACKENDS = {"sqlite": "sqlite", "postgresql": "postgres", "postgres": "postgres"}
"""Database URL scheme -> backend name, as ``open_storage`` picks the backend."""


class Lease(NamedTuple):
    """One lease a heartbeat renews, with what the attempt reports on the way: JSON text
    of its ``progress`` and the job's ``checkpoint`` (None: unchanged)."""

    job_id: str
    lease_token: str
    progress: str | None = None
    checkpoint: str | None = None


@dataclass(frozen=True, slots=True)
class Renewal:
    """A heartbeat for one lease or a batch: each lease extended by ``lease_seconds``,
    or by the server's ``--lease-seconds`` when None."""

    leases: list[Lease]
    lease_seconds: float | None = None


@dataclass(frozen=True, slots=True)
class Health:
    """What a health check found when the store answered."""

    storage: str
    """The backend behind the service: ``sqlite`` or ``postgres``."""


class QueueService:
    """The queue's operations over one store. Its parts (store, notifier, observer) are
    private: callers ask the service, which keeps the notifications and metrics of every
    transition in step with the write."""

    def __init__(self, storage: Storage, settings: Settings, notifier: Notifier | None = None):
        self._storage = storage
        self.settings = settings
        self._notifier = notifier or Notifier()
        # Jobs made ready through another node (shared PostgreSQL) wake our polls too.
        storage.set_wakeup(self._notifier.notify)
        self._finishes = Finishes(storage)  # the waits for results (``get`` with ``wait``)
        self._observer = Observer(self._finishes.finished)
        self.schedules = Schedules(storage, self._notifier, self._observer)
        """The schedule half (``server.schedules``): the schedule routes and the
        reaper's scheduler step call its methods, one each, as others call ours."""
        self._polls = LongPoll(storage, self._notifier, self._observer)
        self._depths: dict[str, int] = {}
        self._depths_at = float("-inf")
        self.backoff = Backoff(settings.retry_base, settings.retry_cap)
        self.backend = BACKENDS.get(settings.db.partition(":")[0], "unknown")

    async def open(self) -> None:
        """Opens the store (connections, migrations); before any other method."""
        await self._storage.open()

    def stop_waiting(self) -> None:
        """Shutdown has begun: every long poll, waiting or still to come, answers at once."""
        self._notifier.close()
        self._finishes.close()

    async def close(self) -> None:
        """Stops the waiting, then finishes the writes already accepted and closes the store."""
        self.stop_waiting()
        await self._storage.close()

    async def enqueue(self, specs: Sequence[NewJob]) -> list[tuple[JobRecord, bool]]:
        if self.settings.max_queue_depth:
            await self._check_depth(specs)
        created = await self._storage.enqueue(specs)
        new_jobs = [job for job, new in created if new]
        self._notifier.notify(job.queue for job in new_jobs)
        self._observer.transitioned(Action.ENQUEUED, new_jobs)
        return created

    async def _check_depth(self, specs: Sequence[NewJob]) -> None:
        """Refuses work for a queue at its limit. Depths are read at most every
        ``DEPTH_TTL_S`` so the check costs the hot path almost nothing; the limit is
        therefore approximate by what one such interval can add."""
        loop = asyncio.get_running_loop()
        if loop.time() - self._depths_at > DEPTH_TTL_S:
            stats = await self._storage.stats()
            self._depths = {q: s.counts.get(JobState.QUEUED, 0) for q, s in stats.items()}
            self._depths_at = loop.time()
        adding = Counter(spec.queue for spec in specs)
        for queue, n in adding.items():
            if self._depths.get(queue, 0) + n > self.settings.max_queue_depth:
                raise QueueFull(
                    f"queue {queue!r} holds {self._depths.get(queue, 0)} ready jobs; the limit"
                    f" is {self.settings.max_queue_depth}"
                )
        for queue, n in adding.items():
            self._depths[queue] = self._depths.get(queue, 0) + n

    async def poll(
        self,
        worker_id: str,
        queues: Sequence[str],
        max_jobs: int = 1,
        lease_seconds: float | None = None,
        wait: float = 0.0,
        gone: asyncio.Future[None] | None = None,
        *,
        concurrency: int | None = None,
    ) -> list[JobRecord]:
        """Leases up to ``max_jobs``, waiting up to ``wait`` for one (``polling.LongPoll``);
        jobs leased after ``gone`` completed (the caller left) are released at once.
        ``concurrency`` is what the worker says it runs at once (the workers listing)."""
        lease_ms, max_bytes = self._lease_ms(lease_seconds), self.settings.max_answer_bytes
        return await self._polls.poll(
            worker_id, queues, max_jobs, lease_ms, max_bytes, wait, gone, concurrency
        )

    async def ack_and_poll(
        self,
        acks: Sequence[Ack],
        worker_id: str,
        queues: Sequence[str],
        *poll: Any,
        concurrency: int | None = None,
    ) -> tuple[list[JobRecord | LeaseqError], list[JobRecord]]:
        """The fused ack-and-poll: ``acks`` applied (durably, as ``ack``) before the
        claim, so a worker finishes its last jobs and leases its next in one round trip."""
        outcomes = await self.ack(acks) if acks else []
        return outcomes, await self.poll(worker_id, queues, *poll, concurrency=concurrency)

    async def ack(self, acks: Sequence[Ack]) -> list[JobRecord | LeaseqError]:
        outcomes = await self._storage.modify(acks)
        self._observer.transitioned(Action.DONE, (o for o in outcomes if isinstance(o, JobRecord)))
        return outcomes

    async def fail(
        self,
        job_id: str,
        token: str,
        error: str | None,
        retry: bool,
        *,
        error_type: str | None = None,
        error_message: str | None = None,
        checkpoint: str | None = None,
    ) -> JobRecord:
        fail = Fail(
            job_id, token, error, retry, self.backoff, error_type, error_message, checkpoint
        )
        job = await self._modify_one(fail)
        self._observer.transitioned(Action.FAILED, [job])
        if job.state is JobState.QUEUED:
            self._notifier.notify([job.queue])  # pollers re-arm their timer for run_at
        return job

    async def heartbeat(self, renewal: Renewal) -> list[JobRecord | LeaseqError]:
        """Extends each lease of ``renewal``; one answer per lease, in order."""
        lease_ms = self._lease_ms(renewal.lease_seconds)
        return await self._storage.modify(
            [Heartbeat(b.job_id, b.lease_token, lease_ms, b.progress, b.checkpoint)
             for b in renewal.leases]
        )  # fmt: skip

    async def release(self, job_id: str, token: str) -> JobRecord:
        job = await self._modify_one(Release(job_id, token))
        self._observer.transitioned(Action.RELEASED, [job])
        self._notifier.notify([job.queue])
        return job

    async def cancel(self, job_ids: Sequence[str]) -> list[JobRecord | LeaseqError]:
        """Cancels each job (a LEASED one at once: its holder is told ``job_cancelled``);
        one answer per id, in order."""
        outcomes = await self._storage.modify([Cancel(job_id) for job_id in job_ids])
        cancelled = [o for o in outcomes if isinstance(o, JobRecord)]
        self._observer.transitioned(Action.CANCELLED, cancelled)
        return outcomes

    async def requeue_dead(self, job_ids: Sequence[str] | None, queue: str | None) -> int:
        """Requeues the given DEAD jobs, or every DEAD job of ``queue`` in chunks (jobs
        that die again meanwhile are not chased: the walk only moves forward)."""
        if job_ids is not None:
            return await self._requeue(job_ids)
        assert queue is not None
        total, after = 0, None
        while ids := await self._storage.dead_ids(queue, after, REQUEUE_CHUNK):
            total += await self._requeue(ids)
            after = ids[-1]
        return total

    async def _requeue(self, job_ids: Sequence[str]) -> int:
        results = await self._storage.modify([Requeue(i) for i in job_ids])
        requeued = [r for r in results if isinstance(r, JobRecord)]
        self._notifier.notify(job.queue for job in requeued)
        self._observer.transitioned(Action.REQUEUED, requeued)
        return len(requeued)

    async def get(self, job_id: str, wait: float = 0.0) -> JobRecord:
        if wait > 0:  # until the job is finished, or ``wait`` s pass (``waiting``)
            return await until_finished(self.get, self._finishes, job_id, wait)
        job = await self._storage.get(job_id)
        if job is None:
            raise JobNotFound(f"no job with id {job_id!r}")
        return job

    async def list_jobs(
        self, state: JobState | None, queue: str | None, limit: int, cursor: str | None,
        match: JobFilter | None = None) -> JobListing:  # fmt: skip
        """A page of jobs, cut at the answer's byte budget too (``Storage.list_jobs``)."""
        budget = self.settings.max_answer_bytes
        return await self._storage.list_jobs(state, queue, limit, cursor, budget, match)

    async def stats(self) -> dict[str, QueueCounts]:
        return await self._storage.stats()

    async def queues(self) -> list[QueueInfo]:
        """Every queue that has jobs or settings, by name."""
        return await self._storage.queues()

    async def queue(self, name: str) -> QueueInfo:
        """The queue's settings and counts; a queue with neither jobs nor settings is
        all defaults and zeros (every name is a queue)."""
        return await self._queue_info(name, (await self._storage.queue_settings([name]))[name])

    async def update_queue(self, name: str, change: QueueChange) -> QueueInfo:
        """Applies a partial change of the queue's settings, durably. When it frees slots
        (``QueueChange.frees_slots``: a resume, a raised or removed limit), the store
        wakes the long polls waiting on the queue, on every node, at once."""
        return await self._queue_info(name, await self._storage.update_queue(name, change))

    async def _queue_info(self, name: str, settings: QueueSettings) -> QueueInfo:
        counts = (await self._storage.stats()).get(name)
        if counts is None:  # no jobs: zero of each state
            return QueueInfo(name, settings)
        return QueueInfo(name, settings, counts.counts)

    async def events(self, job_id: str, limit: int, cursor: str | None) -> EventListing:
        """A page of the job's history; 404 only when neither the job nor any history
        exists."""
        page = await self._storage.events(job_id, limit, cursor, self.settings.max_answer_bytes)
        if not page.events:
            await self.get(job_id)
        return page

    async def workers(self, seen_within_s: float, limit: int) -> list[WorkerInfo]:
        return await self._storage.workers(round(seen_within_s * 1000), limit)

    async def metrics(self) -> bytes:
        """This node's metrics in the Prometheus text format (``observe.METRICS_TYPE``),
        the gauges read from the store refreshed first, so each scrape sees it now."""
        known = await self._storage.count_workers(round(limits.KNOWN_WORKER_WINDOW_S * 1000))
        self._observer.set_store_gauges(await self._storage.stats(), known)
        settings = await self._storage.queue_settings(None)
        self._observer.set_queue_gauges(QueueInfo(q, s) for q, s in settings.items())
        return self._observer.exposition()

    def observe_request(self, method: str, route: str, seconds: float) -> None:
        """Times one request (by route template) into the registry ``metrics`` shows."""
        self._observer.request_timed(method, route, seconds)

    async def health(self) -> Health:
        """Raises ``StorageUnavailable`` when the store does not answer within
        ``HEALTH_TIMEOUT_S``, whatever the reason it gave."""
        try:
            await asyncio.wait_for(self._storage.ping(), HEALTH_TIMEOUT_S)
        except (TimeoutError, StorageUnavailable) as exc:
            raise StorageUnavailable(f"the store does not answer: {exc}") from exc
        return Health(self.backend)

    def history(self, minutes: int) -> list[Minute]:
        """This node's outcomes in the last ``minutes`` minutes (wall clock), oldest first."""
        return self._observer.history.window(SystemClock().now_ms(), minutes)

    async def dead_groups(self, queue: str, groups: int, ids_per_group: int) -> list[DeadGroup]:
        return await self._storage.dead_groups(queue, groups, ids_per_group)

    async def expire_leases(self, limit: int) -> list[JobRecord]:
        """One reaper step: expired leases, and attempts past their timeout, back to the
        queue (or the DLQ)."""
        expired = await self._storage.expire_leases(limit, self.backoff)
        self._notifier.notify(j.queue for j in expired if j.state is JobState.QUEUED)
        timed_out = [j for j in expired if j.last_error_type == TIMED_OUT]
        self._observer.transitioned(Action.TIMED_OUT, timed_out)
        self._observer.transitioned(
            Action.EXPIRED, (j for j in expired if j.last_error_type != TIMED_OUT)
        )
        return expired

    async def purge_finished(self, limit: int) -> int:
        """Deletes up to ``limit`` DONE or CANCELLED jobs older than the retention; returns
        how many (0 at once when the retention is 0, which keeps jobs forever)."""
        if self.settings.retention <= 0:
            return 0
        return await self._storage.purge(round(self.settings.retention * 1000), limit)

    def _lease_ms(self, lease_seconds: float | None) -> int:
        """A lease's length: the caller's, else the server's default."""
        return round(lease_seconds * 1000) if lease_seconds else self.settings.lease_ms

    async def _modify_one(self, command: Command) -> JobRecord:
        return _only(await self._storage.modify([command]))


def _only(outcomes: Sequence[JobRecord | LeaseqError]) -> JobRecord:
    """The answer of a one-item batch, its refusal raised."""
    (outcome,) = outcomes
    if isinstance(outcome, LeaseqError):
        raise outcome
    return outcome
