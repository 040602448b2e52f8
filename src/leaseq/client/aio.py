"""The asyncio client, ``AsyncClient``, and the source the blocking ``Client`` is made from.

Both clients send the sans-I/O ``Call`` values of ``leaseq.client.calls`` and inherit
``ClientBase``, so what is left in a client is one line per endpoint and the ``send`` that
moves bytes. Those twenty signatures would still be written twice and kept in step by
hand, so ``sync.py`` is generated from this file, as httpcore generates its sync half:
``leaseq.client._unasync`` removes ``async``/``await`` and renames the asyncio names, and
a test fails when ``sync.py`` is stale. Generating beats a checked hand-written pair
(an edit is made once, and the two cannot differ in anything but colour) and beats a
runtime trick such as one class wrapping the other (both files stay plain typed code
that editors, mypy and ``help()`` read as it is). The asyncio side is the source because
the rewrite can only take words away.

Edit this file, run ``python -m leaseq.client._unasync``, and commit both. Use no
asyncio construct the rewrite has no rule for.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from types import TracebackType
from typing import Any, TypeVar, Unpack

import httpx
import tenacity
from msgspec import UNSET, UnsetType

from leaseq.client import calls, find_calls, inspect_calls, schedule_calls
from leaseq.client.base import ClientBase, RetryPolicy
from leaseq.client.calls import Call, EnqueueOptions, QueuePatch
from leaseq.client.coalescing import AsyncCoalescer
from leaseq.client.lean import AsyncLeanHttp
from leaseq.client.models import (
    AckSpec,
    BatchOutcome,
    DeadGroup,
    EventPage,
    Health,
    HeartbeatSpec,
    Job,
    JobSpec,
    Page,
    PollAnswer,
    Queue,
    QueueStats,
    RateLimit,
    Schedule,
    ScheduleRun,
    WorkerSeen,
)
from leaseq.client.schedule_calls import cadence
from leaseq.core.limits import DEFAULT_PAGE, DEFAULT_QUEUE, MAX_JOB_WAIT_S
from leaseq.core.model import JobState
from leaseq.errors import ServerUnavailable

T = TypeVar("T")


class AsyncClient(ClientBase):
    """``AsyncClient(url, token)``: every endpoint as a method; errors are ``leaseq.errors``.

    Pass ``transport`` (any httpx transport) to run in-process, for example in tests.
    """

    def __init__(
        self,
        url: str | None = None,
        token: str | None = None,
        *,
        timeout: float = 10.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(url, token, timeout=timeout, retry=retry)
        self._http = httpx.AsyncClient(transport=transport, **self._http_options())
        self._lean = AsyncLeanHttp.open(self.url, self._headers, transport)
        self._coalescer = AsyncCoalescer(self._enqueue_one, self._enqueue_batch)

    async def aclose(self) -> None:
        if self._lean is not None:
            await self._lean.aclose()
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def send(self, call: Call[T]) -> T:
        """Sends one call, retrying as the policy and the call's safety allow. The first
        attempt goes without tenacity (whose set-up costs more than a lean request)."""
        try:
            return await self._send_once(call)
        except ServerUnavailable as exc:
            if not self.retry.retryable(call, exc):
                raise
        # Annotated: mypy loses the generic ``T`` of ``_send_once`` through tenacity.
        result: T = await tenacity.AsyncRetrying(**self.retry.options(call))(self._send_once, call)
        return result

    async def _send_once(self, call: Call[T]) -> T:
        if self._lean is not None:
            status, content = await self._lean.request(self._request(call))
            return call.result(status, content)
        try:
            response = await self._http.request(**self._request(call))
        except httpx.TransportError as exc:
            raise self._unreachable(exc) from exc
        return call.result(response.status_code, response.content)

    # -- endpoints (see ``leaseq.client.calls`` for what each one sends) ------------------

    async def enqueue(self, payload: Any, **options: Unpack[EnqueueOptions]) -> Job:
        return await self.enqueue_spec(JobSpec(payload=payload, **options))

    async def enqueue_spec(self, spec: JobSpec) -> Job:
        """One job. Calls made while another of this client's is out go together in one
        request (``leaseq.client.coalescing``); each returns once its own job is
        committed, and a refusal reaches only the caller whose spec it names."""
        (traced,) = calls.traced([spec])
        return await self._coalescer.enqueue(traced)

    async def _enqueue_one(self, spec: JobSpec) -> Job:
        return await self.send(calls.enqueue_one(spec))

    async def _enqueue_batch(self, specs: list[JobSpec]) -> list[Job]:
        return await self.send(calls.enqueue_batch(specs))

    async def enqueue_many(self, specs: Iterable[JobSpec]) -> list[Job]:
        return await self.send(calls.enqueue_many(specs))

    async def poll(
        self,
        worker_id: str,
        queues: Sequence[str] = (DEFAULT_QUEUE,),
        *,
        max_jobs: int = 1,
        lease_seconds: float | None = None,
        wait: float = 0.0,
        concurrency: int | None = None,
    ) -> list[Job]:
        """The jobs leased; any this client cannot read are left to run out their lease
        (``poll_answer`` names them, so that a worker can fail them at once)."""
        answer = await self.poll_answer(
            worker_id, queues, max_jobs=max_jobs, lease_seconds=lease_seconds, wait=wait,
            concurrency=concurrency,
        )  # fmt: skip
        return answer.jobs

    async def poll_answer(
        self,
        worker_id: str,
        queues: Sequence[str] = (DEFAULT_QUEUE,),
        *,
        max_jobs: int = 1,
        lease_seconds: float | None = None,
        wait: float = 0.0,
        concurrency: int | None = None,
        acks: Sequence[AckSpec] = (),
    ) -> PollAnswer:
        """``concurrency``: how many jobs the caller runs at once, for the workers listing.
        With ``acks``, one round trip acks them (before the claim: see
        ``PollAnswer.acks``) and leases the next jobs."""
        call = calls.poll(worker_id, queues, max_jobs, lease_seconds, wait, concurrency, acks)
        return await self.send(call)

    async def ack(self, job_id: str, lease_token: str, result: Any = None) -> Job:
        return await self.send(calls.ack(job_id, lease_token, result))

    async def ack_many(self, acks: Iterable[AckSpec]) -> list[BatchOutcome]:
        return await self.send(calls.ack_many(acks))

    async def fail(
        self,
        job_id: str,
        lease_token: str,
        error: str | None = None,
        *,
        retry: bool = True,
        error_type: str | None = None,
        error_message: str | None = None,
        checkpoint: Any = None,
    ) -> Job:
        """``error`` is the whole text the job keeps (the traceback); ``error_type`` and
        ``error_message`` the exception's class name and message, which dead letters
        group by; ``checkpoint``, what the next attempt resumes from."""
        call = calls.fail(job_id, lease_token, error, retry, error_type, error_message,
                          checkpoint)  # fmt: skip
        return await self.send(call)

    async def heartbeat(
        self,
        job_id: str,
        lease_token: str,
        lease_seconds: float | None = None,
        *,
        progress: Any = None,
        checkpoint: Any = None,
    ) -> Job:
        """Extends the lease (never past the job's ``timeout``) and stores ``progress``
        and ``checkpoint`` when given. ``JobCancelled`` when the job was cancelled."""
        call = calls.heartbeat(job_id, lease_token, lease_seconds, progress, checkpoint)
        return await self.send(call)

    async def heartbeat_many(
        self,
        leases: Iterable[tuple[str, str] | HeartbeatSpec],
        lease_seconds: float | None = None,
    ) -> list[BatchOutcome]:
        """Extends every ``(job_id, lease_token)`` lease in one request; a
        ``HeartbeatSpec`` also carries its attempt's progress and checkpoint."""
        return await self.send(calls.heartbeat_many(leases, lease_seconds))

    async def release(self, job_id: str, lease_token: str) -> Job:
        return await self.send(calls.release(job_id, lease_token))

    async def get_job(self, job_id: str) -> Job:
        return await self.send(find_calls.get_job(job_id))

    async def wait(
        self, job_id: str, timeout: float = 30.0, *, raise_on_failure: bool = False
    ) -> Job:
        """The job once it is DONE, DEAD or CANCELLED, within ``timeout`` seconds, in server
        waits of at most ``MAX_JOB_WAIT_S`` each (``GET /jobs/{id}?wait=``: answered as
        the job finishes, not polled). ``WaitTimedOut`` (a ``TimeoutError``) when it has
        not finished by then; with ``raise_on_failure``, ``JobFailed`` for DEAD or
        CANCELLED. Either error's ``job`` is the job as it was."""
        deadline = time.monotonic() + timeout
        while True:
            wait = min(max(deadline - time.monotonic(), 0.0), MAX_JOB_WAIT_S)
            job = await self.send(find_calls.get_job(job_id, wait))
            done = find_calls.waited(job, raise_on_failure, deadline - time.monotonic())
            if done is not None:
                return done

    async def list_jobs(
        self,
        *,
        state: JobState | str | None = None,
        queue: str | None = None,
        task: str | None = None,
        tags: Sequence[str] = (),
        delayed: bool | None = None,
        attempted: bool | None = None,
        limit: int = DEFAULT_PAGE,
        cursor: str | None = None,
    ) -> Page:
        """Newest first; ``tags``: the jobs that carry every one of them; ``delayed``: only
        those whose run_at is still ahead (False: has come); ``attempted``: only those
        leased before (False: never). With ``state="QUEUED"`` the two are the delayed
        jobs and the jobs waiting to be retried."""
        return await self.send(
            find_calls.list_jobs(state, queue, limit, cursor, task, tags, delayed, attempted)
        )

    async def list_dead(
        self, *, queue: str | None = None, limit: int = DEFAULT_PAGE, cursor: str | None = None
    ) -> Page:
        return await self.send(calls.list_dead(queue, limit, cursor))

    async def events(
        self, job_id: str, *, limit: int = DEFAULT_PAGE, cursor: str | None = None
    ) -> EventPage:
        """One page of the job's history, oldest first."""
        return await self.send(calls.events(job_id, limit, cursor))

    async def requeue_dead(
        self, job_ids: Sequence[str] | None = None, *, queue: str | None = None
    ) -> int:
        return await self.send(calls.requeue_dead(job_ids, queue))

    async def cancel(self, job_id: str) -> Job:
        """Cancels a QUEUED, LEASED or DEAD job; a LEASED one at once (its worker is told
        ``job_cancelled`` and stops). ``InvalidTransition`` for a finished one."""
        return await self.send(calls.cancel(job_id))

    async def cancel_many(self, job_ids: Iterable[str]) -> list[BatchOutcome]:
        """Cancels up to ``limits.MAX_BATCH`` jobs in one request, one outcome each."""
        return await self.send(calls.cancel_many(job_ids))

    async def stats(self) -> dict[str, QueueStats]:
        return await self.send(calls.stats())

    async def queues(self) -> list[Queue]:
        """Every queue that has jobs or settings, by name."""
        return await self.send(calls.queues())

    async def queue(self, name: str) -> Queue:
        """One queue; a queue never used answers its defaults (no limits, not paused)."""
        return await self.send(calls.queue(name))

    async def update_queue(
        self,
        name: str,
        *,
        paused: bool | UnsetType = UNSET,
        concurrency: int | UnsetType | None = UNSET,
        rate_limit: RateLimit | UnsetType | None = UNSET,
        key_concurrency: int | UnsetType | None = UNSET,
    ) -> Queue:
        """Changes the settings given and leaves the others; ``None`` removes a limit.
        ``rate_limit=RateLimit(10, 1.0)`` or ``RateLimit.parse("10/1s")``."""
        patch = QueuePatch(paused=paused, concurrency=concurrency, rate_limit=rate_limit,
                           key_concurrency=key_concurrency)  # fmt: skip
        return await self.send(calls.update_queue(name, patch))

    async def pause(self, name: str) -> Queue:
        """Polls lease none of the queue's jobs until ``resume``; the rest carries on."""
        return await self.send(calls.pause(name))

    async def resume(self, name: str) -> Queue:
        return await self.send(calls.resume(name))

    async def health(self) -> Health:
        return await self.send(inspect_calls.health())

    # -- schedules -----------------------------------------------------------------------

    async def put_schedule(
        self,
        name: str,
        *,
        cron: str | None = None,
        every: float | None = None,
        timezone: str = "UTC",
        job: JobSpec,
        paused: bool | None = None,
        overlap: str = "allow",
    ) -> Schedule:
        """Creates or replaces schedule ``name``: ``cron`` in ``timezone``, or ``every``
        seconds. ``paused`` None keeps a replaced schedule's pause as it was."""
        return await self.send(
            schedule_calls.put_schedule(name, cadence(cron, every, timezone), job, paused, overlap)
        )

    async def schedules(self) -> list[Schedule]:
        return await self.send(schedule_calls.schedules())

    async def schedule(self, name: str) -> Schedule:
        return await self.send(schedule_calls.schedule(name))

    async def delete_schedule(self, name: str) -> Schedule:
        """Deletes it; answers the schedule as it was."""
        return await self.send(schedule_calls.delete_schedule(name))

    async def trigger_schedule(self, name: str) -> Job:
        """Enqueues one run of the schedule's job now, outside its slots."""
        return await self.send(schedule_calls.trigger_schedule(name))

    async def pause_schedule(self, name: str) -> Schedule:
        return await self.send(schedule_calls.pause_schedule(name))

    async def resume_schedule(self, name: str) -> Schedule:
        """Resumes it from now: the slots missed while paused are not replayed."""
        return await self.send(schedule_calls.resume_schedule(name))

    async def schedule_runs(self, name: str, *, limit: int = DEFAULT_PAGE) -> list[ScheduleRun]:
        """The schedule's run history, newest first. Raises ``ScheduleNotFound``."""
        return await self.send(schedule_calls.schedule_runs(name, limit))

    async def workers(
        self, *, within: float | None = None, limit: int = DEFAULT_PAGE
    ) -> list[WorkerSeen]:
        """Workers seen in the last ``within`` seconds (the server's default: 5 minutes)."""
        return await self.send(inspect_calls.workers(within, limit))

    async def dead_groups(
        self, queue: str = DEFAULT_QUEUE, *, groups: int = 20, ids: int = 100
    ) -> list[DeadGroup]:
        """The queue's DEAD jobs grouped by how they failed, largest group first, with
        up to ``ids`` job ids each (to requeue a group: ``requeue_dead(group.job_ids)``)."""
        return await self.send(inspect_calls.dead_groups(queue, groups, ids))
