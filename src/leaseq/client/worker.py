"""The worker runtime: long-poll for jobs, run them, heartbeat their leases, report.

One asyncio loop does all the I/O. Plain functions run in a thread pool and ``async def``
tasks on the loop, so a slow task never stalls heartbeats. Three loops share the state:

- the poll loop asks for as many jobs as there are free slots, waiting server-side;
- the heartbeat loop extends every held lease at a third of the lease length, so two
  beats may be lost before a lease runs out;
- the report loop sends outcomes, acks batched when several are ready.

At start it also puts the app's declared schedules on the server (``put_declared``).
What one job's run means (its call, its outcome) is ``leaseq.client.running``; how the
worker rides out a server it cannot reach is ``leaseq.client.reconnect``.

A job whose heartbeat says ``lease_lost`` belongs to someone else now: its outcome is
dropped, so a stale worker can never overwrite the result of the job's new owner. One
that says ``job_cancelled``, or whose ``timeout`` passes, is stopped as well: an ``async
def`` task is cancelled, a plain function sees ``current_job().cancelled`` and its thread
is left to finish on its own (its slot is free at once). Heartbeats carry what tasks
report through ``current_job()`` (``leaseq.client.context``).
"""

from __future__ import annotations

import asyncio
import logging
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from leaseq.client import AckSpec, AsyncClient, Job, PollAnswer, RetryPolicy, Undecodable, tracing
from leaseq.client.context import RunningJob
from leaseq.client.models import BatchOutcome, HeartbeatSpec
from leaseq.client.reconnect import Outage
from leaseq.client.riding import Ride
from leaseq.client.running import Outcome, execute, log_outcome
from leaseq.client.schedules import put_declared
from leaseq.client.tasks import App
from leaseq.client.worker_config import WorkerConfig, queues_of
from leaseq.core import limits
from leaseq.errors import JobCancelled, LeaseLost, LeaseqError

log = logging.getLogger("leaseq.client.worker")

POLL_RETRY = RetryPolicy(max_seconds=0.3)
"""A poll rides out a blip (a refused connection while the server restarts) but no more:
past that the worker says at once that it cannot reach the server, and retries itself
with a capped backoff (``reconnect.Outage``) for as long as it takes."""


@dataclass(slots=True)
class Held:
    """A job this worker holds a lease on, from the poll until its outcome is sent."""

    job: Job
    token: str
    running: RunningJob
    runner: asyncio.Task[Outcome | None] | None = None
    lost: bool = False  # a heartbeat said another lease owns the job now
    released: bool = False  # handed back at shutdown
    reported: bool = False
    stopped: bool = False  # cancelled, or past its timeout: its runner was cancelled
    threads: list[Future[Any]] = field(default_factory=list)  # a plain function's thread


class Worker:
    """Runs the tasks of ``app`` until ``stop()``; see the module docstring."""

    def __init__(self, app: App, config: WorkerConfig, client: AsyncClient | None = None):
        self.app = app
        self.config = config
        self.queues = config.queues or queues_of(app)
        # Retrying a call for longer than half a lease is pointless: the lease is gone.
        retry = RetryPolicy(max_seconds=min(15.0, config.lease_seconds / 2))
        self.client = client or AsyncClient(app.url, app.token, retry=retry)
        # Polls go through their own client: they must fail fast (see POLL_RETRY).
        self._poller = client or AsyncClient(app.url, app.token, retry=POLL_RETRY)
        self._outage = Outage(self.client.url)
        self.held: dict[str, Held] = {}
        self.abandoned_threads = 0
        self._running = 0
        self._outbox: asyncio.Queue[Held | None] = asyncio.Queue()
        self._outcomes: dict[str, Outcome] = {}
        self._ride: Ride[Held] = Ride(self._outbox.put_nowait)
        self._stopping = asyncio.Event()
        self._slot_free = asyncio.Event()
        self._deadline = float("inf")
        self._hurry = asyncio.Event()  # the second stop signal: release without waiting
        self._poll: asyncio.Task[PollAnswer] | None = None
        self._pool = self._new_pool()
        self._abandoned: list[Future[Any]] = []  # threads of stopped jobs, maybe running

    def _new_pool(self) -> ThreadPoolExecutor:
        return ThreadPoolExecutor(self.config.concurrency, thread_name_prefix="leaseq-task")

    def stop(self) -> None:
        """First call: stop polling and give running jobs ``grace`` seconds. A second
        call gives up waiting: unfinished jobs are released at once."""
        if self._stopping.is_set():
            log.warning("second stop signal: releasing unfinished jobs now")
            self._deadline = time.monotonic()
            self._hurry.set()
            self._slot_free.set()
            return
        log.info("stopping: no new jobs; %d running get %gs", self._running, self.config.grace)
        self._deadline = time.monotonic() + self.config.grace
        self._stopping.set()
        self._slot_free.set()
        # An idle worker must not wait out its long poll. Closing the poll's connection
        # tells the server the caller went away, and the server hands back whatever it
        # leased to that poll meanwhile; what already came back is released by _drain.
        if self._poll is not None:
            self._poll.cancel()

    async def run(self) -> None:
        """Works until ``stop()``, then drains, hands back what is left and returns."""
        log.info(
            "worker %s: server %s, queues %s, tasks %s, concurrency %d",
            self.config.worker_id, self.client.url, ", ".join(self.queues),
            ", ".join(self.app.tasks) or "none", self.config.concurrency,
        )  # fmt: skip
        beats = asyncio.create_task(self._heartbeat_loop())
        reports = asyncio.create_task(self._report_loop())
        schedules = asyncio.create_task(
            put_declared(self.client, self.app, self._stopping, self.config.put_schedules)
        )
        try:
            await self._poll_loop()
            self._ride.unboard(self._ride.take())  # no poll is coming: they go alone
            await self._drain()
        finally:
            self._ride.unboard(self._ride.take())  # none boards once stopping
            self._outbox.put_nowait(None)
            await reports
            beats.cancel()
            schedules.cancel()
            await asyncio.gather(beats, schedules, return_exceptions=True)
            self._pool.shutdown(wait=False, cancel_futures=True)
            self.abandoned_threads += sum(1 for thread in self._abandoned if not thread.done())
            await self.client.aclose()
            if self._poller is not self.client:
                await self._poller.aclose()
            log.info("worker %s stopped", self.config.worker_id)

    # -- polling -------------------------------------------------------------------------

    async def _poll_loop(self) -> None:
        cfg = self.config
        while not self._stopping.is_set():
            if self._running:  # jobs that end in this turn of the loop board the poll
                await self._ride.collect()
                if self._stopping.is_set():
                    break
            free = cfg.concurrency - self._running
            if free <= 0:
                await self._wait_for_slot()
                continue
            riders = self._ride.take()
            acks = [AckSpec(h.job.id, h.token, self._outcomes[h.job.id].result) for h in riders]
            self._poll = asyncio.create_task(
                self._poller.poll_answer(
                    cfg.worker_id, self.queues, max_jobs=min(free, limits.MAX_POLL_JOBS),
                    lease_seconds=cfg.lease_seconds, wait=cfg.poll_wait,
                    concurrency=cfg.concurrency, acks=acks,
                )
            )  # fmt: skip
            try:
                answer = await self._poll
            except asyncio.CancelledError:
                self._ride.unboard(riders)
                if self._stopping.is_set():
                    return
                raise
            except LeaseqError as exc:
                self._ride.unboard(riders)
                await self._pause(self._outage.failed(exc))
                continue
            finally:
                self._poll = None
            self._outage.succeeded()
            self._acked(riders, answer.acks)
            for job in answer.jobs:
                self._start(job)
            for bad in answer.undecodable:
                await self._reject(bad)

    async def _wait_for_slot(self) -> None:
        self._slot_free.clear()
        self._ride.boarding = True  # the job whose end frees a slot boards the next poll
        await self._slot_free.wait()
        self._ride.boarding = False

    async def _reject(self, bad: Undecodable) -> None:
        """Sends a job this worker cannot read to the dead letters at once, with the
        reason, instead of holding its lease until it runs out: retrying would fail the
        same way, and the other jobs of the poll run as usual."""
        log.warning("job %s cannot be read by this worker: %s", bad.job_id, bad.error)
        if bad.lease_token is None:
            return
        error = f"the worker could not read this job: {bad.error}"
        try:
            await self.client.fail(bad.job_id, bad.lease_token, error, retry=False)
        except (LeaseqError, ValueError) as exc:  # the answer holds the same unreadable job
            log.warning("could not fail job %s: %s", bad.job_id, exc)

    async def _pause(self, seconds: float) -> None:
        try:
            await asyncio.wait_for(self._stopping.wait(), seconds)
        except TimeoutError:
            pass

    def _start(self, job: Job) -> None:
        assert job.lease_token is not None, "a polled job always carries its lease token"
        loop = asyncio.get_running_loop()
        held = Held(job, job.lease_token, RunningJob(job, loop, lambda: self._beat([held])))
        self.held[job.id] = held
        if self._stopping.is_set():
            return  # polled after the stop signal: released by _drain without running
        self._running += 1
        held.runner = asyncio.create_task(self._run(held), name=f"job-{job.id}")

    # -- running -------------------------------------------------------------------------

    async def _run(self, held: Held) -> Outcome | None:
        job, started = held.job, time.monotonic()
        log.debug("job %s start task=%s attempt=%d", job.id, job.task, job.attempts)
        timer = None
        if job.timeout is not None:
            why = f"passed its timeout of {job.timeout:g} s"
            timer = asyncio.get_running_loop().call_later(job.timeout, self._stop, held, why)
        try:
            with tracing.attempt(job) as span:  # linked to the enqueue's trace context
                outcome = await execute(self.app, job, self._pool, held.running, held.threads)
                tracing.outcome(span, outcome.error_type, outcome.summary)
        except asyncio.CancelledError:
            if not held.stopped:
                raise
            asyncio.current_task().uncancel()  # type: ignore[union-attr]
            outcome = None
        finally:
            if timer is not None:
                timer.cancel()
            self._running -= 1
            self._slot_free.set()
        if outcome is not None:
            log_outcome(log, job, outcome, time.monotonic() - started)
        if outcome is None or held.lost or held.released:
            log.warning("job %s: lease lost, stopped or released; outcome not reported", job.id)
            self.held.pop(job.id, None)
            return None
        self._outcomes[job.id] = outcome
        if outcome.error is None and not self._stopping.is_set():
            self._ride.offer(held)  # with the next poll if one is leaving (``riding``)
        else:
            self._outbox.put_nowait(held)
        return outcome

    def _stop(self, held: Held, why: str) -> None:
        """Stops a job this worker must not finish (cancelled, or past its timeout): an
        ``async def`` task is cancelled; a plain function is told (``cancelled``) and
        its thread left to end on its own, in a pool retired for new jobs."""
        if held.stopped or held.reported or held.runner is None or held.runner.done():
            return
        held.stopped = held.lost = True
        held.running.stop()
        log.warning("job %s %s: stopping it; its outcome will not be reported", held.job.id, why)
        held.runner.cancel()
        if any(not thread.done() for thread in held.threads):
            self._abandoned += held.threads
            self._pool.shutdown(wait=False)
            self._pool = self._new_pool()

    # -- heartbeats ----------------------------------------------------------------------

    async def _heartbeat_loop(self) -> None:
        interval = self.config.lease_seconds / 3
        while True:
            await asyncio.sleep(interval)
            live = [h for h in self.held.values() if not (h.lost or h.released or h.reported)]
            # One request per batch the server takes (``limits.MAX_BATCH`` leases), not per job.
            chunks = [live[k : k + limits.MAX_BATCH] for k in range(0, len(live), limits.MAX_BATCH)]
            await asyncio.gather(*(self._beat(chunk) for chunk in chunks))

    async def _beat(self, helds: list[Held]) -> None:
        reports = [h.running.take_reports() for h in helds]
        leases = [HeartbeatSpec(h.job.id, h.token, progress, checkpoint)
                  for h, (progress, checkpoint) in zip(helds, reports, strict=True)]  # fmt: skip
        try:
            outcomes = await self.client.heartbeat_many(leases, self.config.lease_seconds)
        except LeaseqError as exc:
            log.warning("heartbeat of %d jobs failed: %s", len(helds), exc)
            for held, sent in zip(helds, reports, strict=True):
                held.running.put_back(sent)
            return
        for held, outcome in zip(helds, outcomes, strict=True):
            if isinstance(outcome.error, JobCancelled):
                self._stop(held, "was cancelled")
            elif isinstance(outcome.error, LeaseLost):
                if not (held.reported or held.released):
                    held.lost = True
                    log.warning(
                        "job %s: %s; its outcome will not be reported", held.job.id, outcome.error
                    )
            elif outcome.error is not None:
                log.warning("job %s: heartbeat failed: %s", held.job.id, outcome.error)

    # -- reporting -----------------------------------------------------------------------

    async def _report_loop(self) -> None:
        """Sends outcomes as they come; everything ready at once goes in one batch ack."""
        while True:
            first = await self._outbox.get()
            batch = [first]
            while not self._outbox.empty() and len(batch) < limits.MAX_BATCH:
                batch.append(self._outbox.get_nowait())
            ready = [h for h in batch if h is not None]
            if ready:
                await self._report(ready)
            if None in batch:
                return

    async def _report(self, ready: list[Held]) -> None:
        outcomes = {h.job.id: self._outcomes.pop(h.job.id) for h in ready}
        acks = [h for h in ready if outcomes[h.job.id].error is None]
        fails = [h for h in ready if outcomes[h.job.id].error is not None]
        await asyncio.gather(
            self._ack(acks, outcomes), *(self._fail(h, outcomes[h.job.id]) for h in fails)
        )
        for h in ready:
            h.reported = True
            self.held.pop(h.job.id, None)

    async def _ack(self, acks: list[Held], outcomes: dict[str, Outcome]) -> None:
        if not acks:
            return
        specs = [AckSpec(h.job.id, h.token, outcomes[h.job.id].result) for h in acks]
        try:
            results = await self.client.ack_many(specs)
        except LeaseqError as exc:
            log.error("ack of %d jobs failed: %s; they run again after the lease", len(acks), exc)
            return
        self._acked([], results)

    def _acked(self, riders: list[Held], results: list[BatchOutcome]) -> None:
        """Acks were answered (those of ``riders`` by a poll): refusals are logged."""
        for r in results:
            if r.error is not None:
                log.warning("job %s: ack refused: %s", r.job_id, r.error)
        for h in riders:
            self._outcomes.pop(h.job.id, None)
            h.reported = True
            self.held.pop(h.job.id, None)

    async def _fail(self, held: Held, outcome: Outcome) -> None:
        # A checkpoint the task saved but no heartbeat sent yet is kept for the retry.
        _, checkpoint = held.running.take_reports()
        try:
            await self.client.fail(
                held.job.id, held.token, outcome.error, retry=outcome.retry,
                error_type=outcome.error_type, error_message=outcome.error_message,
                checkpoint=checkpoint,
            )  # fmt: skip
        except LeaseqError as exc:
            log.warning("job %s: fail not recorded: %s", held.job.id, exc)

    # -- shutdown ------------------------------------------------------------------------

    async def _drain(self) -> None:
        """Waits for running jobs until the grace deadline, then releases the rest."""
        runners = [h.runner for h in self.held.values() if h.runner is not None]
        pending = [r for r in runners if not r.done()]
        if pending:
            # All of them, unless the deadline passes or a second signal says hurry.
            finished = asyncio.ensure_future(asyncio.wait(pending))
            hurry = asyncio.ensure_future(self._hurry.wait())
            left = max(0.0, self._deadline - time.monotonic())
            await asyncio.wait({finished, hurry}, timeout=left, return_when=asyncio.FIRST_COMPLETED)
            finished.cancel()
            hurry.cancel()
        leftovers = [h for h in self.held.values() if h.runner is None or not h.runner.done()]
        for h in leftovers:
            h.released = True
        await asyncio.gather(*(self._release(h) for h in leftovers))
        for h in leftovers:
            if h.runner is not None:
                task = self.app.tasks.get(h.job.task or "")
                if task is not None and not task.is_async:
                    self.abandoned_threads += 1  # a thread cannot be stopped; see cli
                h.runner.cancel()

    async def _release(self, held: Held) -> None:
        try:
            await self.client.release(held.job.id, held.token)
            log.info("job %s released", held.job.id)
        except LeaseqError as exc:
            log.warning(
                "job %s: release failed: %s; it runs again after the lease", held.job.id, exc
            )
