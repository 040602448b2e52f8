"""The client's typed view of the wire JSON: ``Job``, ``Page``, ``Event``, ``EventPage``,
``QueueStats``, ``Queue``, ``Health`` and ``Schedule`` as the server answers, ``JobSpec``
and ``AckSpec`` as sent, and ``RateLimit`` both ways.

These are not the server's records (``leaseq.core.model.JobRecord``, ``EventRecord``,
``JobListing``, ``EventListing``, ``QueueCounts``, ``leaseq.core.queues.QueueInfo``,
``leaseq.core.schedules.ScheduleRecord``), and have their own names on purpose: a record
keeps integer milliseconds and raw JSON text for the server's hot path, while a client
wants decoded payloads, ``datetime`` values and windows in seconds. Unknown fields in an
answer are ignored, so an older client keeps working against a newer server that adds
fields.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec

from leaseq.client.rates import format_window, parse_rate
from leaseq.core.model import JobState
from leaseq.errors import LeaseqError


class Job(msgspec.Struct, kw_only=True, frozen=True):
    """One job as the server shows it. ``lease_token`` is set only on jobs from a poll."""

    id: str
    queue: str
    task: str | None
    payload: Any
    state: JobState
    priority: int
    attempts: int
    max_tries: int
    run_at: datetime
    lease_owner: str | None
    lease_expires_at: datetime | None
    last_error: str | None
    result: Any
    idempotency_key: str | None
    created_at: datetime
    updated_at: datetime
    lease_token: str | None = None
    concurrency_key: str | None = None
    idempotency_scope: str = "stored"
    """``stored`` or ``active``; a server older than the field means ``stored``."""
    last_error_type: str | None = None
    """The exception's class name of the last failure, when its worker sent one."""
    last_error_message: str | None = None
    """The exception's message of the last failure (``last_error`` has the traceback)."""
    tags: list[str] = msgspec.field(default_factory=list)
    """What the job is about, as enqueued; ``list_jobs(tags=...)`` finds it by them."""
    traceparent: str | None = None
    """The W3C trace context of the span that enqueued it (``leaseq.client.tracing``)."""
    timeout: float | None = None
    """Seconds one attempt may run (None: no limit); past it the attempt is failed."""
    progress: Any = None
    """What the current attempt last reported (``current_job().progress``)."""
    checkpoint: Any = None
    """What the job last saved to resume from; kept across attempts."""


class Page(msgspec.Struct, frozen=True):
    """One page of a listing; pass ``next_cursor`` back to get the next one."""

    jobs: list[Job]
    next_cursor: str | None


class Event(msgspec.Struct, frozen=True):
    """One step of a job's history. ``kind`` is a plain string (``enqueued``, ``leased``,
    ``heartbeat``, ``done`` ...), so a newer server's new kinds do not break this client."""

    at: datetime
    kind: str
    state: JobState
    worker_id: str | None
    attempt: int
    error: str | None


class EventPage(msgspec.Struct, frozen=True):
    """One page of a job's history, oldest first; pass ``next_cursor`` back for more."""

    events: list[Event]
    next_cursor: str | None


class RateLimit(msgspec.Struct, frozen=True):
    """At most ``count`` leases of a queue in any window of ``per_s`` seconds."""

    count: int
    per_s: float

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """``"10/1s"``, ``"100/1m"``, ``"5/500ms"``, ``"3600/h"``: a count, a slash and a
        window with its unit (ms, s, m, h or d). ``ValueError`` says what is wrong."""
        return cls(*parse_rate(text))

    def __str__(self) -> str:
        return f"{self.count}/{format_window(self.per_s)}"


class QueueStats(msgspec.Struct, frozen=True):
    """One queue's jobs counted by state, and the seconds its oldest QUEUED job has waited."""

    QUEUED: int
    LEASED: int
    DONE: int
    DEAD: int
    CANCELLED: int
    oldest_queued_age_s: float


class Queue(msgspec.Struct, kw_only=True, frozen=True):
    """A queue's settings and its jobs counted by state (``GET /queues/{name}``). A limit
    of ``None`` is no limit. ``counts`` is keyed by state name, so ``counts["QUEUED"]``
    and ``counts[JobState.QUEUED]`` both work and a newer server's states do not break it.
    """

    name: str
    paused: bool
    concurrency: int | None
    rate_limit: RateLimit | None
    key_concurrency: int | None
    counts: dict[str, int]


class Health(msgspec.Struct, frozen=True):
    """``GET /health``: the server's status, its storage backend and its version."""

    status: str
    storage: str
    version: str


class JobSpec(msgspec.Struct, kw_only=True, omit_defaults=True, forbid_unknown_fields=True):
    """One job to enqueue. Fields left as ``None`` are not sent, so the server's
    defaults (``leaseq.core.limits``: ``DEFAULT_QUEUE``, ``DEFAULT_MAX_TRIES``) apply."""

    payload: Any
    queue: str | None = None
    task: str | None = None
    priority: int | None = None
    max_tries: int | None = None
    delay: float | None = None
    run_at: datetime | None = None
    idempotency_key: str | None = None
    concurrency_key: str | None = None
    idempotency_scope: str | None = None
    """``active``: the key is taken only while the job is QUEUED or LEASED."""
    tags: list[str] | None = None
    """Up to ``limits.MAX_TAGS`` strings of 1-``MAX_TAG_CHARS`` characters."""
    traceparent: str | None = None
    """Left None, the enqueue sends the current span's (with ``leaseq[otel]``)."""
    timeout: float | None = None
    """Seconds one attempt may run, 1-43200; past it the attempt fails (and is retried)."""


class ScheduleJob(msgspec.Struct, kw_only=True, frozen=True):
    """The job each slot of a schedule enqueues."""

    payload: Any
    queue: str
    task: str | None
    priority: int
    max_tries: int


class Schedule(msgspec.Struct, kw_only=True, frozen=True):
    """A schedule as the server shows it: ``cron`` (in ``timezone``) or ``every``
    seconds, the other None. ``last_run_at`` is the last slot taken (the slot's time),
    ``next_run_at`` the next one (None while paused)."""

    name: str
    cron: str | None
    every: float | None
    timezone: str
    job: ScheduleJob
    paused: bool
    overlap: str
    next_run_at: datetime | None
    last_run_at: datetime | None
    last_job_id: str | None
    created_at: datetime
    updated_at: datetime


class ScheduleRun(msgspec.Struct, kw_only=True, frozen=True):
    """One line of a schedule's run history: the slot taken (None for a trigger), when a
    node took it, the job (None when skipped for overlap), the earlier slots missed, and
    the outcome: ``enqueued``, ``overlap`` or ``manual``."""

    slot_at: datetime | None
    at: datetime
    job_id: str | None
    skipped: int
    outcome: str


class AckSpec(msgspec.Struct, omit_defaults=True):
    """One acknowledgement in a batch ack."""

    job_id: str
    lease_token: str
    result: Any = None


class HeartbeatSpec(msgspec.Struct, omit_defaults=True):
    """One lease in a batch heartbeat, with what its attempt reports: ``progress`` (any
    JSON, 64 KiB at most) and ``checkpoint`` (1 MiB at most); None sends nothing."""

    job_id: str
    lease_token: str
    progress: Any = None
    checkpoint: Any = None


@dataclass(frozen=True, slots=True)
class Undecodable:
    """A leased job this client could not read (a field out of the range it knows, say):
    its id and lease token, so the lease can still be answered, and why."""

    job_id: str
    lease_token: str | None
    error: str


@dataclass(frozen=True, slots=True)
class PollAnswer:
    """What a poll leased: the jobs this client read, and those it could not. One bad job
    must not cost the others, so each is decoded on its own."""

    jobs: list[Job]
    undecodable: list[Undecodable]
    acks: list[BatchOutcome] = field(default_factory=list)
    """What the acks the poll carried did, in order (their ``job`` is None: a fused
    ack answers its status only)."""


@dataclass(frozen=True, slots=True)
class BatchOutcome:
    """What a batch ack or heartbeat did to one job: ``job`` on success, ``error``
    otherwise (for example ``LeaseLost`` when the lease ran out before the ack arrived)."""

    job_id: str
    job: Job | None
    error: LeaseqError | None


class WorkerSeen(msgspec.Struct, frozen=True):
    """``GET /workers``: one worker seen recently, the ids of the jobs it holds, and how
    many it completed and failed. Fields a newer server adds are ignored."""

    worker_id: str
    last_seen_at: datetime
    jobs: list[str]
    done: int
    failed: int
    queues: list[str] = []
    """The queues its latest poll named."""
    concurrency: int | None = None
    """How many jobs it runs at once, as its latest poll said."""


class DeadGroup(msgspec.Struct, frozen=True):
    """``GET /dead/groups``: DEAD jobs of a queue that failed alike, by exception type and
    message when the worker sent them apart (``error_type``), else by the whole error.
    ``error`` is the text (traceback) of one of them; ``job_ids`` the first of them."""

    error: str | None
    count: int
    job_ids: list[str]
    error_type: str | None = None
    error_message: str | None = None
