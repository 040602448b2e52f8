"""The job and its states: plain data, no I/O.

Times are integer milliseconds since the Unix epoch (UTC) throughout the domain; the wire
layer formats them as RFC 3339. Payloads and results stay as JSON text so the server never
re-parses what it only stores and hands back.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from enum import StrEnum

import msgspec

from leaseq.core import limits


class JobState(StrEnum):
    """Where a job is in its life, and who moves it in and out of each state."""

    QUEUED = "QUEUED"
    """Waiting to run at or after ``run_at``. In: enqueue, a retryable fail, an expired
    lease, a release, a requeue from the DLQ. Out: a poll leases it, or a cancel."""

    LEASED = "LEASED"
    """Held by one worker until ``lease_expires_at``. In: a poll. Out: ack (DONE), fail
    (QUEUED or DEAD), release (QUEUED), cancel (CANCELLED), or the reaper when the lease
    runs out or the attempt passes its ``timeout`` (QUEUED or DEAD)."""

    DONE = "DONE"
    """Finished successfully; terminal. In: ack. Out: only the retention purge."""

    DEAD = "DEAD"
    """In the dead letter queue. In: a fail with no tries left or ``retry`` false, or a
    lease that ran out on the last try. Out: requeue (QUEUED) or cancel."""

    CANCELLED = "CANCELLED"
    """Withdrawn by an operator; terminal. In: cancel of a QUEUED, LEASED or DEAD job (a
    LEASED one keeps its holder's token, so the holder is told ``job_cancelled``). Out:
    only the retention purge."""


class IdempotencyScope(StrEnum):
    """How long a job holds its ``idempotency_key`` in its queue."""

    STORED = "stored"
    """While the job is kept (until the retention purge): the default."""
    ACTIVE = "active"
    """Only while the job is QUEUED or LEASED: once it is finished (DONE, DEAD or
    CANCELLED) the key is free again, for unique-while-active jobs."""


class NewJob(msgspec.Struct, frozen=True):
    """What a producer asks for; validated at the edge before it gets here. A Struct,
    like ``JobRecord``: a batch enqueue builds a thousand of them."""

    payload: str
    queue: str = limits.DEFAULT_QUEUE
    task: str | None = None
    priority: int = 0
    max_tries: int = limits.DEFAULT_MAX_TRIES
    delay_ms: int = 0
    run_at: int | None = None
    idempotency_key: str | None = None
    concurrency_key: str | None = None
    """Jobs sharing a key are limited together by their queue's ``key_concurrency``."""
    idempotency_scope: IdempotencyScope = IdempotencyScope.STORED
    timeout_ms: int | None = None
    """The longest one attempt may run; None: as long as heartbeats keep its lease."""
    tags: tuple[str, ...] = ()
    """What the job is about, for finding it (``JobFilter.tags``); distinct, in order."""
    traceparent: str | None = None
    """The W3C trace context of the producer's span, for the worker's span to link to."""


class JobRecord(msgspec.Struct, frozen=True):
    """One unit of work, as stored. ``attempts`` counts leases taken.

    A frozen ``msgspec.Struct`` rather than a dataclass: every transition builds a new
    job, and a Struct is built and ``replace``d about 20 times faster (0.2 µs against
    4.6 µs per replace), which is measurable on the batched hot path."""

    id: str
    queue: str
    task: str | None
    payload: str
    state: JobState
    priority: int
    attempts: int
    max_tries: int
    run_at: int
    lease_owner: str | None
    lease_token: str | None
    lease_expires_at: int | None
    last_error: str | None
    result: str | None
    idempotency_key: str | None
    created_at: int
    updated_at: int
    leased_at: int | None = None
    """When the current or last lease began; the run-time metric is measured from it."""
    concurrency_key: str | None = None
    """See ``NewJob.concurrency_key``."""
    idempotency_scope: IdempotencyScope = IdempotencyScope.STORED
    last_error_type: str | None = None
    """The exception's class name of the last failure, when the worker sent one (a lease
    that ran out leaves it null: ``last_error`` alone says "lease expired")."""
    last_error_message: str | None = None
    """The exception's message of the last failure; ``last_error`` keeps the whole text."""
    timeout_ms: int | None = None
    """See ``NewJob.timeout_ms``: a lease never runs past ``leased_at + timeout_ms``."""
    progress: str | None = None
    """JSON text the current attempt last reported; cleared when the job is leased again."""
    checkpoint: str | None = None
    """JSON text the job last saved to resume from; kept across attempts."""
    tags: tuple[str, ...] = ()
    """See ``NewJob.tags``; written once, at enqueue."""
    traceparent: str | None = None
    """See ``NewJob.traceparent``; written once, at enqueue."""


FINISHED = frozenset({JobState.DONE, JobState.DEAD, JobState.CANCELLED})
"""The states a wait for a result ends at: nothing moves a job out of them but an operator
(a requeue from the DLQ) or the retention purge."""


class Action(StrEnum):
    """What happened to a job; each stored transition records one event of this kind."""

    ENQUEUED = "enqueued"
    LEASED = "leased"
    HEARTBEAT = "heartbeat"
    RELEASED = "released"
    EXPIRED = "expired"
    FAILED = "failed"
    DEAD = "dead"
    REQUEUED = "requeued"
    CANCELLED = "cancelled"
    DONE = "done"
    TIMED_OUT = "timed_out"
    CHECKPOINTED = "checkpointed"
    """A heartbeat that saved a checkpoint (one with progress alone is a ``heartbeat``)."""


class EventRecord(msgspec.Struct, frozen=True):
    """One line of a job's history: answers "why did this job run twice?". A Struct,
    like ``JobRecord``, because one is built for every transition."""

    job_id: str
    at: int
    kind: Action
    state: JobState
    worker_id: str | None
    attempt: int
    error: str | None


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """A worker as the registry knows it: seen by its polls and its jobs' events."""

    worker_id: str
    last_seen_at: int
    jobs: list[str]
    done: int
    failed: int
    queues: list[str] = field(default_factory=list)
    """The queues its latest poll named."""
    concurrency: int | None = None
    """How many jobs it runs at once, as its latest poll said (None: it did not say)."""


@dataclass(frozen=True, slots=True)
class DeadGroup:
    """DEAD jobs that failed alike: by (type, message) when the worker sent a type, else
    by the whole ``last_error``. ``error`` is the text of one of them (its traceback)."""

    error: str | None
    count: int
    job_ids: list[str]
    error_type: str | None = None
    error_message: str | None = None


@dataclass(frozen=True, slots=True)
class JobFilter:
    """Which jobs a listing shows beyond state and queue: those of ``task``, those that
    carry every one of ``tags``, and (when not None) those whose ``run_at`` is still
    ahead or not (``delayed``: the dashboard's scheduled view) and those leased before or
    not (``attempted``: with QUEUED, the jobs waiting to be retried)."""

    task: str | None = None
    tags: tuple[str, ...] = ()
    delayed: bool | None = None
    attempted: bool | None = None


@dataclass(frozen=True, slots=True)
class JobListing:
    jobs: list[JobRecord]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class EventListing:
    events: list[EventRecord]
    next_cursor: str | None


@dataclass(slots=True)
class QueueCounts:
    counts: dict[JobState, int] = field(default_factory=lambda: dict.fromkeys(JobState, 0))
    oldest_queued_age_s: float = 0.0


class JobIds:
    """Makes UUIDv7 strings: time-ordered, so ids sort roughly by creation time.

    Within one millisecond a 12-bit counter keeps the ids of one generator increasing;
    each storage owns one, so there is no module-level state.
    """

    def __init__(self) -> None:
        self._last_ms = 0
        self._seq = 0

    def new(self, now_ms: int) -> str:
        ms = now_ms
        if ms <= self._last_ms:
            ms = self._last_ms
            self._seq = (self._seq + 1) & 0xFFF
            if self._seq == 0:
                ms += 1
        else:
            self._seq = int.from_bytes(os.urandom(2)) & 0x7FF
        self._last_ms = ms
        rand = int.from_bytes(os.urandom(8)) & ((1 << 62) - 1)
        value = (ms << 80) | (0x7 << 76) | (self._seq << 64) | (0b10 << 62) | rand
        h = f"{value:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"
