"""Schedules on SQLite: the PUT, pause and delete of a schedule, a trigger, and the
scheduler's pass that takes due slots.

The writes run on the writer's connection inside its ``BEGIN IMMEDIATE`` transaction, so
a pass reads the due rows, enqueues their jobs (``jobs.enqueue``: events and counts
included) and moves each slot guard in one transaction: the job and the guard commit
together or not at all. A second store on the same file waits on ``BEGIN IMMEDIATE`` and
then reads the guards already moved, so a slot is taken once.
"""

from __future__ import annotations

import secrets
import sqlite3

from leaseq.core import schedules as rules
from leaseq.core.model import JobIds, JobRecord
from leaseq.core.schedules import ScheduleRecord, ScheduleRun, ScheduleSpec, Taken
from leaseq.errors import LeaseLost
from leaseq.server.storage import queries, scheduling
from leaseq.server.storage.sqlite import jobs

Q = queries.load("leaseq.server.storage.sqlite")


def get(conn: sqlite3.Connection, name: str) -> ScheduleRecord | None:
    row = conn.execute(Q["get_schedule"], (name,)).fetchone()
    return None if row is None else scheduling.schedule_from_row(row)


def listing(conn: sqlite3.Connection) -> list[ScheduleRecord]:
    return [scheduling.schedule_from_row(r) for r in conn.execute(Q["list_schedules"])]


def put(conn: sqlite3.Connection, spec: ScheduleSpec, now: int) -> tuple[ScheduleRecord, bool]:
    old = get(conn, spec.name)
    record = rules.placed(spec, old, now)
    conn.execute(Q["upsert_schedule"], scheduling.schedule_params(record))
    return record, old is None


def set_paused(
    conn: sqlite3.Connection, name: str, paused: bool, now: int
) -> ScheduleRecord | None:
    old = get(conn, name)
    if old is None:
        return None
    record = rules.paused_as(old, paused, now)
    if record is not old:
        conn.execute(Q["upsert_schedule"], scheduling.schedule_params(record))
    return record


def delete(conn: sqlite3.Connection, name: str) -> ScheduleRecord | None:
    old = get(conn, name)
    if old is not None:
        conn.execute(Q["delete_schedule"], (name,))
        conn.execute(Q["delete_schedule_runs"], (name,))
    return old


def trigger(conn: sqlite3.Connection, name: str, ids: JobIds, now: int) -> JobRecord | None:
    """One run now, outside the slots: the slot guard does not move."""
    record = get(conn, name)
    if record is None:
        return None
    spec = rules.slot_job(record.job, rules.manual_key(name, secrets.token_hex(8)))
    ((job, _),) = jobs.enqueue(conn, [spec], ids, now)
    conn.execute(Q["set_last_job"], {"name": name, "job_id": job.id})
    run = {"name": name, "slot": None, "at": now, "job_id": job.id, "skipped": 0,
           "outcome": rules.RunOutcome.MANUAL.value}  # fmt: skip
    conn.execute(Q["insert_schedule_run"], run)
    return job


def any_due(conn: sqlite3.Connection, now: int) -> bool:
    return conn.execute(Q["any_due_schedule"], (now,)).fetchone() is not None


def take(conn: sqlite3.Connection, limit: int, ids: JobIds, now: int) -> list[Taken]:
    """One pass over up to ``limit`` due schedules: their jobs, guards and runs."""
    rows = conn.execute(Q["due_schedules"], (now, limit)).fetchall()
    steps = [
        rules.step(scheduling.schedule_from_row(r), scheduling.last_state(r), now) for r in rows
    ]
    enqueuing = [s for s in steps if s.job is not None]
    answers = jobs.enqueue(conn, [s.job for s in enqueuing if s.job is not None], ids, now)
    made = {s.name: job for s, (job, _) in zip(enqueuing, answers, strict=True)}
    params = [scheduling.step_params(s, made.get(s.name), now) for s in steps]
    if conn.executemany(Q["take_slot"], params).rowcount != len(params):
        raise LeaseLost("a schedule's slot guard moved underneath the writer; nothing taken")
    conn.executemany(Q["insert_schedule_run"], [p for p in params if p["outcome"] is not None])
    return scheduling.taken(steps, made, now)


def runs(conn: sqlite3.Connection, name: str, limit: int) -> list[ScheduleRun]:
    return [scheduling.run_from_row(r) for r in conn.execute(Q["schedule_runs"], (name, limit))]


def purge_runs(conn: sqlite3.Connection, cutoff: int, limit: int) -> int:
    return conn.execute(Q["purge_schedule_runs"], (cutoff, limit)).rowcount
