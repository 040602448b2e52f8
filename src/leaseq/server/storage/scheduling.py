"""What both backends do alike for schedules that is not SQL: rows to records, records to
the named parameters of their statements, and a pass's steps to what it took.

The rules themselves (what a PUT, a pause or a pass must store) are the pure functions of
``leaseq.core.schedules``; the backends read rows, call them, and write the answer. The
parameters are named (``:name`` in SQLite, ``%(name)s`` in PostgreSQL), so one dict
serves both.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import msgspec

from leaseq.core.model import JobRecord, JobState, NewJob
from leaseq.core.schedules import (
    Cadence,
    Overlap,
    RunOutcome,
    ScheduleRecord,
    ScheduleRun,
    Step,
    Taken,
)
from leaseq.server.storage.common import Row

_decode_job = msgspec.json.Decoder(NewJob).decode
_encode = msgspec.json.Encoder().encode


def schedule_from_row(row: Row) -> ScheduleRecord:
    """The schedule in a row holding the columns of ``schedules``."""
    return ScheduleRecord(
        name=row.name,
        cadence=Cadence(row.cron, row.every_ms, row.timezone),
        job=_decode_job(row.job),
        paused=bool(row.paused),
        overlap=Overlap(row.overlap),
        next_run_at=row.next_run_at,
        last_run_at=row.last_slot,
        last_job_id=row.last_job_id,
        since=row.since,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def schedule_params(record: ScheduleRecord) -> dict[str, Any]:
    """The named parameters of ``insert_schedule`` and ``update_schedule``: every column.
    The job template is stored as the JSON of its ``NewJob``, so a field added to jobs
    later is kept by schedules without a migration."""
    return {
        "name": record.name,
        "cron": record.cadence.cron,
        "every_ms": record.cadence.every_ms,
        "timezone": record.cadence.timezone,
        "job": _encode(record.job).decode(),
        "paused": record.paused,
        "overlap": record.overlap.value,
        "next_run_at": record.next_run_at,
        "last_slot": record.last_run_at,
        "last_job_id": record.last_job_id,
        "since": record.since,
        "created_at": record.created_at,
        "updated_at": record.updated_at,
    }


def run_from_row(row: Row) -> ScheduleRun:
    return ScheduleRun(
        row.schedule, row.slot, row.at, row.job_id, row.skipped, RunOutcome(row.outcome)
    )


def last_state(row: Row) -> JobState | None:
    """The state of the schedule's last job, joined into a due row (None: no such job)."""
    return None if row.last_state is None else JobState(row.last_state)


def step_params(step: Step, job: JobRecord | None, now: int) -> dict[str, Any]:
    """The guarded write of one step (and its run's line), as named parameters."""
    return {
        "name": step.name,
        "seen": step.seen_slot,
        "slot": step.slot_ms,
        "next_run_at": step.next_run_at,
        "job_id": None if job is None else job.id,
        "queue": None if step.job is None else step.job.queue,
        "key": None if step.job is None else step.job.idempotency_key,
        "skipped": step.skipped,
        "outcome": None if step.outcome is None else step.outcome.value,
        "at": now,
    }


def columns(params: Sequence[Mapping[str, Any]]) -> dict[str, list[Any]]:
    """Rows of named parameters as one array per name (PostgreSQL's ``unnest``)."""
    names = params[0].keys() if params else ()
    return {name: [p[name] for p in params] for name in names}


def taken(steps: Iterable[Step], jobs: Mapping[str, JobRecord], now: int) -> list[Taken]:
    """What a pass took: one ``Taken`` per step that took a slot, with the job of its
    schedule (``jobs``, by schedule name) when it enqueued one."""
    return [
        Taken(s.name, s.slot_ms, now, s.skipped, jobs.get(s.name))
        for s in steps
        if s.outcome is not None and s.slot_ms is not None
    ]
