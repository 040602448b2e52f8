"""The storage protocol: what every backend promises, one contract per method.

Backends apply the pure rules of ``leaseq.core.transitions``; they decide nothing themselves
except what set-based SQL must decide (which ready jobs a claim takes). Every write is
durable before its coroutine returns. The conformance suite in ``tests/storage`` holds
each backend to these contracts.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from leaseq.core import limits
from leaseq.core.backoff import Backoff
from leaseq.core.commands import Command
from leaseq.core.model import (
    DeadGroup,
    EventListing,
    EventRecord,
    JobFilter,
    JobListing,
    JobRecord,
    JobState,
    NewJob,
    QueueCounts,
    WorkerInfo,
)
from leaseq.core.queues import HeldBack, QueueChange, QueueInfo, QueueSettings
from leaseq.core.schedules import ScheduleRecord, ScheduleRun, ScheduleSpec, Taken
from leaseq.core.transitions import event_for
from leaseq.errors import JobNotFound, LeaseqError


@dataclass(slots=True)
class Applied:
    """What a batch of commands does, before any of it is written."""

    answers: list[JobRecord | LeaseqError] = field(default_factory=list)
    events: list[EventRecord] = field(default_factory=list)
    writes: dict[str, tuple[JobRecord, JobRecord]] = field(default_factory=dict)
    """Job id -> (as read, as it must be stored), for the jobs some command changed."""


def apply_commands(read: Mapping[str, JobRecord], commands: Sequence[Command], now: int) -> Applied:
    """Applies the commands in order to the jobs as read, so every backend answers a batch
    the same way: a job named twice sees the first command's result, and each command
    that changed a job leaves one event. Pure: the backend then writes ``writes`` guarded on
    the state and token each job was read with."""
    applied = Applied()
    current = dict(read)
    for command in commands:
        job_id = command.job_id
        job = current.get(job_id)
        if job is None:
            applied.answers.append(JobNotFound(f"no job with id {job_id!r}"))
            continue
        try:
            new = command.apply(job, now)
        except LeaseqError as exc:
            applied.answers.append(exc)
            continue
        if new is not job:
            applied.events.append(event_for(command.action, job, new))
            applied.writes[job_id] = (read[job_id], new)
            current[job_id] = new
        applied.answers.append(new)
    return applied


DEFAULT_MAX_BYTES = limits.DEFAULT_ANSWER_BYTES
"""The byte budget of a claim or a page when its caller names none
(``Settings.max_answer_bytes``)."""


class Claimed(list[JobRecord]):
    """The jobs a claim leased, in poll order, and why it left ready jobs behind.

    A list, so that every caller that only wants the jobs (most of them: tests, tools)
    iterates it as before; the service also reads ``held`` for its metrics."""

    __slots__ = ("held",)

    def __init__(
        self, jobs: Iterable[JobRecord] = (), held: Mapping[str, HeldBack] | None = None
    ) -> None:
        super().__init__(jobs)
        self.held: dict[str, HeldBack] = dict(held or {})
        """Queue -> the rule that kept one of its ready jobs out of a claim that came
        back with fewer than ``max_jobs`` jobs; empty when nothing was held back."""


class Storage(Protocol):
    recheck_s: float | None
    """Capability: how often a waiting long poll should claim again even without a
    wake-up. None when wake-ups cannot be lost (SQLite: one process notifies itself);
    a few seconds where they travel over a connection that can drop (PostgreSQL
    LISTEN/NOTIFY), so a lost notification only delays a job, never strands it."""

    async def open(self) -> None:
        """Connects and applies pending migrations. Called once before any other method."""
        ...

    async def close(self) -> None:
        """Finishes writes already accepted, then releases connections."""
        ...

    async def enqueue(self, specs: Sequence[NewJob]) -> list[tuple[JobRecord, bool]]:
        """Inserts all jobs or none, each with an ``enqueued`` event. A spec whose
        ``idempotency_key`` is already used in its queue (or earlier in the same batch)
        yields the existing job and ``False``."""
        ...

    async def claim(
        self,
        queues: Sequence[str],
        owner: str,
        max_jobs: int,
        lease_ms: int,
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        concurrency: int | None = None,
    ) -> Claimed:
        """Atomically leases up to ``max_jobs`` ready jobs (QUEUED, ``run_at <= now``) of
        ``queues``, best first: highest priority, earliest run_at, enqueue order. Each
        taken job matches ``transitions.lease`` with a fresh random token and gets a
        ``leased`` event; ``owner`` is recorded as a worker seen now, even when nothing is
        ready, polling ``queues`` and running ``concurrency`` jobs at once (what the
        workers listing shows). Two concurrent claims never return the same job. Cost is
        bounded by an index, not the store size.

        The claim stops adding jobs once their payloads would exceed ``max_bytes``, but
        always takes one. It obeys each queue's settings inside its own atomic write,
        so racing claims on every node together never exceed them: nothing from a
        paused queue; no more than ``concurrency`` of a queue LEASED, nor
        ``key_concurrency`` with one ``concurrency_key``; no more than
        ``rate_limit.count`` leases of a queue in any window of ``rate_limit.per_ms``
        (store time). A job held back keeps its place and its attempts; the queues
        named with it are served as usual. ``held`` of the answer says why ready jobs
        were left when the claim came back short. Settings changed while a claim is in
        flight apply from the next claim on. A queue without settings pays for none
        of this: no lock, no count.
        """
        ...

    async def modify(self, commands: Sequence[Command]) -> list[JobRecord | LeaseqError]:
        """For each command: reads the job, applies it at the store's ``now`` and
        writes the result guarded on the state and token it read, with its event
        (``transitions.event_for``) and its worker's tally, in one transaction. Answers per
        item: the new job, ``JobNotFound`` or the command's refusal."""
        ...

    async def expire_leases(self, limit: int, backoff: Backoff | None = None) -> list[JobRecord]:
        """Applies the reaper's command (``commands.reaping``) to up to ``limit`` LEASED
        jobs whose lease ran out: ``TimeOut`` (a fail with ``backoff``, default
        ``Backoff()``, recording ``timed_out``) when the lease ran to the attempt's
        timeout, else ``Expire`` (recording ``expired``); concurrent callers (several
        nodes) never process the same job twice."""
        ...

    async def dead_ids(self, queue: str, after: str | None, limit: int) -> list[str]:
        """Ids of DEAD jobs of ``queue`` in enqueue order, after the id ``after``."""
        ...

    async def purge(self, finished_before_ms: int, limit: int) -> int:
        """Deletes up to ``limit`` DONE or CANCELLED jobs (with their events) last updated
        more than ``finished_before_ms`` ago, and workers not seen and schedule runs
        taken as long ago (up to ``limit`` of those too); returns how many jobs."""
        ...

    async def get(self, job_id: str) -> JobRecord | None: ...

    async def list_jobs(
        self,
        state: JobState | None,
        queue: str | None,
        limit: int,
        cursor: str | None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        match: JobFilter | None = None,
    ) -> JobListing:
        """Jobs with ``state`` and of ``queue`` (None: any), and of ``match`` (its task,
        and every one of its tags), newest first: up to ``limit``
        after ``cursor`` (the ``next_cursor`` of the page before, None for the first),
        and the cursor of the next page when there are more. The cursor is opaque and
        stable while jobs are added.

        A page also stops before the job that would take the UTF-8 bytes of its jobs'
        payloads, results and last errors past ``max_bytes`` (``common.job_bytes``), but
        always holds one, however big; its ``next_cursor`` goes on from there. The
        store reads about that many bytes for it, not ``limit`` jobs' worth: the rows
        past the budget are weighed (or not read at all), never fetched. Each filter has
        an index, so a page's cost does not grow with the jobs that do not match."""
        ...

    async def stats(self) -> dict[str, QueueCounts]:
        """Counts by queue and state and the oldest ready age, without scanning jobs."""
        ...

    async def next_ready_in(self, queues: Sequence[str]) -> float | None:
        """Seconds until the earliest QUEUED job of ``queues`` with a future ``run_at``
        becomes ready, or until a lease of a rate-limited queue leaves its window (a
        slot that no write announces), or None when neither is ahead; long polls sleep
        at most this long."""
        ...

    async def events(
        self, job_id: str, limit: int, cursor: str | None, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> EventListing:
        """The job's history, oldest first: up to ``limit`` events after ``cursor`` (the
        ``next_cursor`` of the page before, None for the first), and the cursor of the
        next page when there are more. Empty for an unknown or purged job. Cursors stay
        valid while the job goes on adding events. As ``list_jobs``, a page stops before
        the event whose error text would take the page past ``max_bytes``, but holds
        one: a job failed a thousand times with 64 KiB errors has 64 MiB of history."""
        ...

    async def workers(self, seen_within_ms: int, limit: int) -> list[WorkerInfo]:
        """Workers seen within the window, most recently seen first, with the ids of the
        jobs they hold now."""
        ...

    async def count_workers(self, seen_within_ms: int) -> int:
        """How many workers were seen within the window: the metrics gauge, which must
        not pay for listing every worker's held jobs on each scrape."""
        ...

    async def dead_groups(self, queue: str, groups: int, ids_per_group: int) -> list[DeadGroup]:
        """DEAD jobs of ``queue`` grouped by (``last_error_type``,
        ``last_error_message``) when the type is set, else by ``last_error``; largest
        group first. Each group's ``error`` is the ``last_error`` of one of its jobs."""
        ...

    async def queue_settings(self, names: Sequence[str] | None) -> dict[str, QueueSettings]:
        """The settings of each of ``names`` (the defaults for a queue nobody changed),
        or, with None, of every queue that has stored settings."""
        ...

    async def update_queue(self, name: str, change: QueueChange) -> QueueSettings:
        """Applies ``change`` to the queue's stored settings (the defaults when it has
        none) in one atomic read-modify-write, durably, and answers the new settings.
        When the change frees slots (``QueueChange.frees_slots``), the long polls of
        every node waiting on the queue are woken (``set_wakeup``). Removing a rate
        limit forgets the queue's lease times; a rate limit set again counts from
        then on."""
        ...

    async def queues(self) -> list[QueueInfo]:
        """Every queue that has jobs or stored settings, by name, with its settings
        and its counts by state (from the counts ``stats`` reads, not a scan)."""
        ...

    async def ping(self) -> None:
        """Raises ``StorageUnavailable`` when the store does not answer."""
        ...

    def set_wakeup(self, callback: Callable[[list[str]], None]) -> None:
        """Registers ``callback(queues)``, called on the event loop when jobs of
        ``queues`` may have become claimable in a way the caller of the write cannot
        see, so that long polls here wake at once: another node made jobs ready, or a
        write (here or on another node: an ack, fail, release, expiry, or a settings
        update) freed a slot of a limited queue. Called before ``open()``. The service
        still notifies its own long polls of the jobs its own writes made ready."""
        ...

    def set_finished(self, callback: Callable[[list[str]], None]) -> None:
        """Registers ``callback(job_ids)``, called on the event loop when jobs finished
        (DONE, DEAD or CANCELLED) through another node, so that waits for them here wake
        at once. A store that only one node writes never calls it: the service sees
        every transition. Called before ``open()``."""
        ...

    # -- schedules -----------------------------------------------------------------------

    async def put_schedule(self, spec: ScheduleSpec) -> tuple[ScheduleRecord, bool]:
        """Creates the schedule (``True``) or replaces the one of that name (``False``),
        as ``schedules.placed`` says at the store's ``now``: a replacement keeps its
        slot guard, last job, run history and (unless the spec says) its pause, and
        ``next_run_at`` is recomputed. Two nodes creating one name at once: one creates
        it, the other replaces it."""
        ...

    async def get_schedule(self, name: str) -> ScheduleRecord | None: ...

    async def list_schedules(self) -> list[ScheduleRecord]:
        """Every schedule, by name."""
        ...

    async def delete_schedule(self, name: str) -> ScheduleRecord | None:
        """Deletes the schedule and its run history; returns it as it was (None: there
        was none). Its jobs stay."""
        ...

    async def set_schedule_paused(self, name: str, paused: bool) -> ScheduleRecord | None:
        """Pauses (``next_run_at`` None, nothing enqueued) or resumes (``since = now``:
        the slots missed while paused are not replayed) as ``schedules.paused_as``;
        None when there is no such schedule."""
        ...

    async def trigger_schedule(self, name: str) -> JobRecord | None:
        """Enqueues one job of the schedule now, outside the slots: its own key
        (``schedules.manual_key``), a ``manual`` run, ``last_job_id`` set, the slot guard
        unmoved. None when there is no such schedule."""
        ...

    async def take_due_slots(self, limit: int) -> list[Taken]:
        """The scheduler's pass: for up to ``limit`` unpaused schedules whose
        ``next_run_at`` has come, applies ``schedules.step`` at the store's ``now`` and
        writes, in one transaction per pass, each slot's job (key ``slot_key``, with its
        ``enqueued`` event, waking long polls as any enqueue), the slot guard moved from
        the slot it read, the new ``next_run_at`` and the slot's run (``skipped`` counting
        the slots missed after downtime). However many nodes run passes at once, and
        whatever their clocks, a slot is taken once and has at most one job. Cost is
        bounded by the ``next_run_at`` index of unpaused schedules: a pass with nothing
        due reads no schedule row."""
        ...

    async def schedule_runs(self, name: str, limit: int) -> list[ScheduleRun]:
        """The schedule's run history, newest first (empty for an unknown schedule). Runs
        older than the retention go with ``purge``."""
        ...
