"""The wire shapes of schedules: ``PUT /schedules/{name}``'s body and the schedule as every
schedule route answers it. Kept apart from ``wire`` (which they build on) so that the
slice reads in one place.

A schedule answers both ``cron`` and ``every``, the one it does not use as null: one
shape for every schedule, which typed clients and ``jq`` read without a branch on keys.
"""

from __future__ import annotations

import zoneinfo
from typing import Annotated, Any, ClassVar

from msgspec import Meta, Raw, Struct

from leaseq.core import limits
from leaseq.core.model import IdempotencyScope
from leaseq.core.schedules import (
    Cadence,
    Overlap,
    RunOutcome,
    ScheduleRecord,
    ScheduleRun,
    ScheduleSpec,
)
from leaseq.server.http.cron import CRON, CRON_PATTERN, FORM
from leaseq.server.http.encode import rfc3339
from leaseq.server.http.wire import JobSpecIn, Limit, _In

ZONES = sorted(zoneinfo.available_timezones())
"""The IANA names this host's tz database has: what ``timezone`` may be. The edge asks
``zoneinfo`` itself (``Cadence``), so the schema's list and the check cannot disagree."""

ScheduleName = Annotated[
    str,
    Meta(
        pattern=limits.SCHEDULE_NAME_PATTERN,
        description=f"1-{limits.MAX_SCHEDULE_NAME_CHARS} of A-Z a-z 0-9 _ . : -",
    ),
]
CronText = Annotated[
    str,
    Meta(
        max_length=limits.MAX_CRON_CHARS,
        description=f"A cron expression: {FORM}",
        examples=["*/5 * * * *", "30 2 * * MON-FRI", "@daily"],
        # Checked in ``ScheduleIn.__post_init__``, so that a refusal names the field
        # without quoting this 11 kB expression.
        extra_json_schema={"pattern": CRON_PATTERN},
    ),
]
TimeZone = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=64,
        description="An IANA time zone name",
        extra_json_schema={"enum": ZONES} if ZONES else {},
    ),
]
EverySeconds = Annotated[
    float,
    Meta(
        ge=limits.MIN_EVERY_S,
        le=limits.MAX_EVERY_S,
        description="Seconds between slots; slots fall on multiples of it since the epoch",
    ),
]


class ScheduleJobIn(JobSpecIn):
    """The job each slot enqueues: a job spec without what the slot decides itself."""

    SET_BY_SLOT: ClassVar[dict[str, Any]] = {
        "delay": None,
        "run_at": None,
        "idempotency_key": None,
        "idempotency_scope": IdempotencyScope.STORED.value,
    }
    """Fields a slot sets (its job is due at the slot; its key is ``schedule:{name}:
    {slot}``), refused unless left at their default; the OpenAPI document says so."""

    def __post_init__(self) -> None:
        for name, default in self.SET_BY_SLOT.items():
            if getattr(self, name) != default:
                raise ValueError(f"{name}: a schedule's slot sets it; remove `{name}`")


class ScheduleIn(_In, kw_only=True):
    cron: CronText | None = None
    every: EverySeconds | None = None
    timezone: TimeZone = "UTC"
    job: ScheduleJobIn
    paused: bool | None = None
    """Absent or null keeps a replaced schedule as it was (a new one starts unpaused)."""
    overlap: Overlap = Overlap.ALLOW

    EXACTLY_ONE = ("cron", "every")

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.every is None):
            raise ValueError("give exactly one of `cron` or `every`")
        if self.cron is not None and not CRON.match(self.cron):
            raise ValueError(f"cron: {self.cron!r} is not a cron expression; give {FORM}")

    def to_spec(self, name: str) -> ScheduleSpec:
        """Raises ``InvalidRequest`` naming ``timezone`` or ``cron`` (``Cadence``)."""
        every_ms = None if self.every is None else round(self.every * 1000)
        cadence = Cadence(cron=self.cron, every_ms=every_ms, timezone=self.timezone)
        return ScheduleSpec(name, cadence, self.job.to_new_job("$.job"), self.paused, self.overlap)


# -- responses --------------------------------------------------------------------------


class ScheduleJobOut(Struct, kw_only=True):
    payload: Any
    queue: str
    task: str | None
    priority: int
    max_tries: int


class ScheduleOut(Struct, kw_only=True):
    name: str
    cron: str | None
    every: int | float | None
    """Seconds; a whole number when it is one."""
    timezone: str
    job: ScheduleJobOut
    paused: bool
    overlap: Overlap
    next_run_at: str | None
    """The next slot it will take; null while paused."""
    last_run_at: str | None
    """The last slot taken (the slot's time, not when it was taken)."""
    last_job_id: str | None
    created_at: str
    updated_at: str


class ScheduleEnvelope(Struct):
    schedule: ScheduleOut


class SchedulesOut(Struct):
    schedules: list[ScheduleOut]


def schedule_out(record: ScheduleRecord) -> ScheduleOut:
    """The public view of a schedule, times in RFC 3339 as everywhere on the wire."""
    cadence, job = record.cadence, record.job
    every = None if cadence.every_ms is None else _seconds(cadence.every_ms)
    return ScheduleOut(
        name=record.name, cron=cadence.cron, every=every, timezone=cadence.timezone,
        job=ScheduleJobOut(payload=Raw(job.payload), queue=job.queue, task=job.task,
                           priority=job.priority, max_tries=job.max_tries),
        paused=record.paused, overlap=record.overlap,
        next_run_at=_stamp(record.next_run_at), last_run_at=_stamp(record.last_run_at),
        last_job_id=record.last_job_id,
        created_at=rfc3339(record.created_at), updated_at=rfc3339(record.updated_at),
    )  # fmt: skip


class RunsQuery(_In):
    limit: Limit = limits.DEFAULT_PAGE


class ScheduleRunOut(Struct, kw_only=True):
    slot_at: str | None
    """The slot taken; null for a trigger."""
    at: str
    """When a node took it: ``at - slot_at`` is the slot's lag."""
    job_id: str | None
    """The job enqueued; null when the slot was skipped for overlap."""
    skipped: int
    """Earlier slots missed (no node ran the scheduler) and not replayed."""
    outcome: RunOutcome


class ScheduleRunsOut(Struct):
    runs: list[ScheduleRunOut]
    """Newest first."""


def runs_out(runs: list[ScheduleRun]) -> ScheduleRunsOut:
    return ScheduleRunsOut([
        ScheduleRunOut(slot_at=_stamp(r.slot_ms), at=rfc3339(r.at), job_id=r.job_id,
                       skipped=r.skipped, outcome=r.outcome)
        for r in runs
    ])  # fmt: skip


def _seconds(ms: int) -> int | float:
    return ms // 1000 if ms % 1000 == 0 else ms / 1000


def _stamp(ms: int | None) -> str | None:
    return None if ms is None else rfc3339(ms)
