"""Request and response shapes on the wire (msgspec Structs).

Requests forbid unknown fields, so a misspelt ``max_retries`` is a 422 that names it
rather than a silently ignored option. These types also generate the OpenAPI document.

A request that has a domain value says how to make it (``to_domain``), so that
``decode`` turns bytes into what the service takes in one call; a single item and its
batch give the same domain type, the single one being a batch of one. Answers are built
from domain values in ``encode``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

import msgspec
from msgspec import Meta, Struct, field

from leaseq.core import limits
from leaseq.core import tracecontext as tc
from leaseq.core.commands import Ack
from leaseq.core.model import Action, IdempotencyScope, JobState, NewJob
from leaseq.errors import ERRORS_BY_CODE, InvalidRequest

QueueName = Annotated[
    str,
    Meta(
        # (?!\n): limits.SCHEDULE_NAME_PATTERN says why.
        pattern=rf"^[A-Za-z0-9_.:-]{{1,{limits.MAX_QUEUE_NAME_CHARS}}}(?!\n)$",
        description=f"1-{limits.MAX_QUEUE_NAME_CHARS} of A-Z a-z 0-9 _ . : -",
    ),
]
NO_NUL = r"^[^\x00]*$"
"""Free text may hold anything but NUL, which PostgreSQL cannot store in text: refusing it
here makes both backends answer the same 422 instead of the store deciding."""
Name = Annotated[str, Meta(min_length=1, max_length=limits.MAX_NAME_CHARS, pattern=NO_NUL)]
ConcurrencyKey = Annotated[
    str, Meta(min_length=1, max_length=limits.MAX_CONCURRENCY_KEY_CHARS, pattern=NO_NUL)
]
Token = Annotated[str, Meta(min_length=1, max_length=limits.MAX_NAME_CHARS)]
LeaseSeconds = Annotated[float, Meta(ge=limits.MIN_LEASE_S, le=limits.MAX_LEASE_S)]
ErrorText = Annotated[str, Meta(max_length=limits.MAX_ERROR_CHARS, pattern=NO_NUL)]
ErrorType = Annotated[
    str, Meta(min_length=1, max_length=limits.MAX_ERROR_TYPE_CHARS, pattern=NO_NUL)
]
ErrorMessage = Annotated[str, Meta(max_length=limits.MAX_ERROR_MESSAGE_CHARS, pattern=NO_NUL)]
Int32 = Annotated[int, Meta(ge=-(2**31), le=2**31 - 1)]
Tag = Annotated[str, Meta(min_length=1, max_length=limits.MAX_TAG_CHARS, pattern=NO_NUL)]
Tags = Annotated[list[Tag], Meta(max_length=limits.MAX_TAGS)]
Traceparent = Annotated[str, Meta(pattern=tc.PATTERN, description=tc.DESCRIPTION)]
UtcTime = Annotated[
    datetime,
    Meta(
        tz=True,
        description=f"RFC 3339, in years {limits.MIN_YEAR}-{limits.MAX_YEAR} UTC",
        # The years as JSON Schema can say them; an offset that carries the first or the
        # last day out of the range is refused too (``_utc_ms``).
        extra_json_schema={"pattern": "^[1-9][0-9]{3}-"},
    ),
]
Limit = Annotated[int, Meta(ge=1, le=limits.MAX_BATCH)]
Cursor = Annotated[
    str, Meta(pattern=r"^[0-9]{1,18}(?!\n)$", description="`next_cursor` of the previous page")
]
"""Opaque to clients, but the schema says what the server accepts: a garbage cursor is a
422, so schema-valid requests must not be able to send one."""

MAX_BATCH = limits.MAX_BATCH


class _In(Struct, forbid_unknown_fields=True, kw_only=True):
    """A request body or query. Rules between fields that ``__post_init__`` checks are
    declared here too, so that the OpenAPI document states them (``http/openapi.py``)."""

    EXACTLY_ONE: ClassVar[tuple[str, ...]] = ()
    """Exactly one of these fields is given and not null."""
    AT_MOST_ONE: ClassVar[tuple[str, ...]] = ()
    """At most one of these fields is given and not null."""
    AT_LEAST_ONE_FIELD: ClassVar[bool] = False
    """The body names at least one field (null counts: it is a value, "none")."""


class JobSpecIn(_In):
    payload: Any
    queue: QueueName = limits.DEFAULT_QUEUE
    task: Name | None = None
    priority: Int32 = 0
    max_tries: Annotated[int, Meta(ge=1, le=limits.MAX_TRIES)] = limits.DEFAULT_MAX_TRIES
    delay: Annotated[float, Meta(ge=0, le=limits.MAX_DELAY_S)] | None = None
    run_at: UtcTime | None = None
    idempotency_key: Name | None = None
    concurrency_key: ConcurrencyKey | None = None
    # A Literal, not the enum: the schema stays inline, so JobSpecIn's component is a
    # whole schema on its own (tests/app/test_bad_input.py validates with it alone).
    idempotency_scope: Literal["stored", "active"] = "stored"
    """``active``: the key is taken only while the job is QUEUED or LEASED."""
    tags: Tags = field(default_factory=list)
    """What the job is about: ``GET /jobs?tag=`` finds it. A tag given twice counts once."""
    traceparent: Traceparent | None = None
    """The producer's trace context; the worker's span of each attempt links to it."""
    timeout: Annotated[float, Meta(ge=limits.MIN_TIMEOUT_S, le=limits.MAX_TIMEOUT_S)] | None = None
    """Seconds one attempt may run, heartbeats or not; then it is failed (and retried)."""

    AT_MOST_ONE = ("delay", "run_at")

    def __post_init__(self) -> None:
        if self.delay is not None and self.run_at is not None:
            raise ValueError("give `delay` or `run_at`, not both")

    def to_domain(self) -> list[NewJob]:
        return [self.to_new_job("$")]

    def to_new_job(self, at: str) -> NewJob:
        """The job; ``at`` is where this spec sits in the body, for the error message."""
        return NewJob(
            payload=msgspec.json.encode(self.payload).decode(),
            queue=self.queue,
            task=self.task,
            priority=self.priority,
            max_tries=self.max_tries,
            delay_ms=round((self.delay or 0) * 1000),
            run_at=None if self.run_at is None else _utc_ms(self.run_at, f"{at}.run_at"),
            idempotency_key=self.idempotency_key,
            concurrency_key=self.concurrency_key,
            idempotency_scope=IdempotencyScope(self.idempotency_scope),
            tags=tuple(self.tags),
            traceparent=self.traceparent,
            timeout_ms=None if self.timeout is None else round(self.timeout * 1000),
        )


class EnqueueBatchIn(_In):
    jobs: Annotated[list[JobSpecIn], Meta(min_length=1, max_length=MAX_BATCH)]

    def to_domain(self) -> list[NewJob]:
        return [spec.to_new_job(f"$.jobs[{i}]") for i, spec in enumerate(self.jobs)]


def _utc_ms(at: datetime, path: str) -> int:
    """Milliseconds since the epoch of a time in years ``MIN_YEAR``-``MAX_YEAR`` UTC; any
    other is refused, since no answer could write it in RFC 3339 (a 5-digit year), and a
    client would then fail to read every poll that leases the job."""
    ms = round(at.timestamp() * 1000)
    if not _MIN_MS <= ms <= _MAX_MS:
        raise InvalidRequest(
            f"Expected a time in years {limits.MIN_YEAR}-{limits.MAX_YEAR} UTC - at `{path}`"
        )
    return ms


_MIN_MS = round(datetime(limits.MIN_YEAR, 1, 1, tzinfo=UTC).timestamp() * 1000)
_MAX_MS = round(datetime(limits.MAX_YEAR, 12, 31, 23, 59, 59, 999000, UTC).timestamp() * 1000)


ACKS = "Finished jobs, acked durably (as POST /ack) before the claim; answered in order."


class PollIn(_In):
    worker_id: Name
    queues: Annotated[list[QueueName], Meta(min_length=1, max_length=limits.MAX_POLL_QUEUES)] = (
        field(default_factory=lambda: [limits.DEFAULT_QUEUE])
    )
    max_jobs: Annotated[int, Meta(ge=1, le=limits.MAX_POLL_JOBS)] = 1
    lease_seconds: LeaseSeconds | None = None
    wait: Annotated[float, Meta(ge=0, le=limits.MAX_POLL_WAIT_S)] = 0.0
    concurrency: Annotated[int, Meta(ge=1, le=limits.MAX_WORKER_CONCURRENCY)] | None = None
    """How many jobs the worker runs at once, for the workers listing."""
    acks: Annotated[list[AckIn], Meta(max_length=limits.MAX_POLL_ACKS, description=ACKS)] = []


class AckIn(_In):
    job_id: Name
    lease_token: Token
    result: Any = None

    def to_domain(self) -> list[Ack]:
        return [self.to_ack()]

    def to_ack(self) -> Ack:
        result = None if self.result is None else msgspec.json.encode(self.result).decode()
        return Ack(self.job_id, self.lease_token, result)


class AckBatchIn(_In):
    acks: Annotated[list[AckIn], Meta(min_length=1, max_length=MAX_BATCH)]

    def to_domain(self) -> list[Ack]:
        return [ack.to_ack() for ack in self.acks]


class RequeueIn(_In):
    job_ids: Annotated[list[Name], Meta(min_length=1, max_length=MAX_BATCH)] | None = None
    queue: QueueName | None = None

    EXACTLY_ONE = ("job_ids", "queue")

    def __post_init__(self) -> None:
        if (self.job_ids is None) == (self.queue is None):
            raise ValueError("give exactly one of `job_ids` or `queue`")


class EventsQuery(_In):
    limit: Limit = limits.DEFAULT_PAGE
    cursor: Cursor | None = None


class WorkersQuery(_In):
    within: Annotated[float, Meta(gt=0, le=limits.MAX_WORKER_WINDOW_S)] = (
        limits.KNOWN_WORKER_WINDOW_S
    )
    limit: Limit = limits.DEFAULT_PAGE


class DeadGroupsQuery(_In):
    queue: QueueName
    groups: Annotated[int, Meta(ge=1, le=100)] = 20
    ids: Annotated[int, Meta(ge=0, le=limits.MAX_BATCH)] = limits.MAX_BATCH


class DeadQuery(_In):
    queue: QueueName | None = None
    limit: Limit = limits.DEFAULT_PAGE
    cursor: Cursor | None = None


# -- responses --------------------------------------------------------------------------


class JobOut(Struct, kw_only=True):
    id: str
    queue: str
    task: str | None
    payload: Any
    state: JobState
    priority: int
    attempts: int
    max_tries: int
    run_at: str
    lease_owner: str | None
    lease_expires_at: str | None
    last_error: str | None
    last_error_type: str | None
    last_error_message: str | None
    result: Any
    idempotency_key: str | None
    created_at: str
    updated_at: str
    concurrency_key: str | None
    idempotency_scope: IdempotencyScope
    tags: list[str]
    traceparent: str | None
    timeout: float | None
    progress: Any
    checkpoint: Any


class LeasedJobOut(JobOut, kw_only=True):
    lease_token: str


class JobEnvelope(Struct):
    job: JobOut


class JobsEnvelope(Struct):
    jobs: list[JobOut]


class PageOut(Struct):
    jobs: list[JobOut]
    next_cursor: str | None


ERROR_CODES = ", ".join(sorted({*ERRORS_BY_CODE, "malformed_json", "not_found",
                                 "method_not_allowed", "internal"}))  # fmt: skip


class ErrorBody(Struct):
    code: Annotated[str, Meta(description=f"Stable, one per error class: {ERROR_CODES}.")]
    """``lease_lost``: the token is not the job's lease any more; ``job_cancelled``: the
    job was cancelled while this token held it (the holder stops)."""
    message: str


class ErrorOut(Struct):
    error: ErrorBody


class ItemResult(Struct, omit_defaults=True):
    """What a batch (of acks, of heartbeats) did to one job: its status and the job, or
    the error a single request would have answered."""

    job_id: str
    status: int
    job: JobOut | None = None
    error: ErrorBody | None = None


class BatchOut(Struct):
    results: list[ItemResult]


class RequeueOut(Struct):
    requeued: int


class QueueStatsOut(Struct):
    QUEUED: int
    LEASED: int
    DONE: int
    DEAD: int
    CANCELLED: int
    oldest_queued_age_s: float


class StatsOut(Struct):
    queues: dict[str, QueueStatsOut]


class EventOut(Struct):
    at: str
    kind: Action
    state: JobState
    worker_id: str | None
    attempt: int
    error: str | None


class EventsOut(Struct):
    events: list[EventOut]
    next_cursor: str | None


class WorkerOut(Struct):
    worker_id: str
    last_seen_at: str
    jobs: list[str]
    done: int
    failed: int
    queues: list[str]
    """The queues its latest poll named."""
    concurrency: int | None
    """How many jobs it runs at once, as its latest poll said; null when it did not say."""


class WorkersOut(Struct):
    workers: list[WorkerOut]


class DeadGroupOut(Struct):
    error: str | None
    """The text of one job of the group (its traceback)."""
    count: int
    job_ids: list[str]
    error_type: str | None
    """Set when the group is by exception: its class name and message."""
    error_message: str | None


class DeadGroupsOut(Struct):
    groups: list[DeadGroupOut]


class HealthOut(Struct):
    status: str
    storage: str
    version: str
