"""Schedules on PostgreSQL: the PUT, pause and delete of a schedule, a trigger, and the
scheduler's pass that takes due slots, on any number of nodes with no leader.

A pass locks the due rows (``FOR UPDATE SKIP LOCKED``: a row another node's pass holds is
skipped, and one whose pass committed meanwhile is re-read and no longer due), inserts
their jobs and moves their slot guards in one transaction, so the job and the guard
commit together or not at all; and each job's idempotency key is its slot's
(``slot_key``), so not even a lost guard could make a twin. Time is the database's
(``now_ms``), so the nodes' clocks do not matter.
"""

from __future__ import annotations

import secrets
from typing import Any

from leaseq.core import schedules as rules
from leaseq.core.model import JobIds, JobRecord
from leaseq.core.schedules import ScheduleRecord, ScheduleRun, ScheduleSpec, Taken
from leaseq.errors import LeaseLost
from leaseq.server.storage import common, queries, scheduling
from leaseq.server.storage.postgres import jobs
from leaseq.server.storage.postgres.connection import (
    Conn,
    Pending,
    Retry,
    all_rows,
    first,
    transaction,
)

Q = queries.load("leaseq.server.storage.postgres")


async def get(conn: Conn, name: str) -> ScheduleRecord | None:
    rows = await all_rows(conn, Q["get_schedule"], {"name": name})
    return scheduling.schedule_from_row(rows[0]) if rows else None


async def listing(conn: Conn) -> list[ScheduleRecord]:
    return [scheduling.schedule_from_row(r) for r in await all_rows(conn, Q["list_schedules"])]


async def _locked(conn: Conn, name: str, clock_ms: int | None) -> tuple[int, ScheduleRecord | None]:
    """Inside a transaction: the database's ``now`` and the schedule, its row locked (one
    round trip: both statements travel in the pipeline)."""
    now_cursor = await conn.execute(Q["select_now"], {"now": clock_ms})
    row_cursor = await conn.execute(Q["lock_schedule"], {"name": name})
    now = (await now_cursor.fetchone()).now  # type: ignore[union-attr]
    row = await row_cursor.fetchone()
    return now, None if row is None else scheduling.schedule_from_row(row)


async def put(conn: Conn, spec: ScheduleSpec, clock_ms: int | None) -> tuple[ScheduleRecord, bool]:
    async with transaction(conn):
        now, old = await _locked(conn, spec.name, clock_ms)
        record = rules.placed(spec, old, now)
        query = Q["insert_schedule"] if old is None else Q["update_schedule"]
        cursor = await conn.execute(query, scheduling.schedule_params(record))
    if old is None and not await Pending(cursor, {spec.name}).ids():
        raise Retry(f"schedule {spec.name!r} was created by another node meanwhile")
    return record, old is None


async def set_paused(
    conn: Conn, name: str, paused: bool, clock_ms: int | None
) -> ScheduleRecord | None:
    async with transaction(conn):
        now, old = await _locked(conn, name, clock_ms)
        record = None if old is None else rules.paused_as(old, paused, now)
        if record is not None and record is not old:
            await conn.execute(Q["update_schedule"], scheduling.schedule_params(record))
    return record


async def delete(conn: Conn, name: str) -> ScheduleRecord | None:
    rows = await all_rows(conn, Q["delete_schedule"], {"name": name})
    return scheduling.schedule_from_row(rows[0]) if rows else None


async def trigger(conn: Conn, name: str, ids: JobIds, clock_ms: int | None) -> JobRecord | None:
    """One run now, outside the slots: the slot guard does not move."""
    async with transaction(conn):
        now, record = await _locked(conn, name, clock_ms)
        if record is None:
            return None
        spec = rules.slot_job(record.job, rules.manual_key(name, secrets.token_hex(8)))
        (job,) = common.plan_enqueue([spec], ids, now).jobs
        await jobs.insert(conn, [job], now)
        run = {"name": name, "job_id": job.id, "at": now}
        await conn.execute(Q["schedule_triggered"], run)
    return job


async def any_due(conn: Conn, clock_ms: int | None) -> bool:
    return bool((await first(conn, Q["any_due_schedule"], {"now": clock_ms})).due)


async def take(conn: Conn, limit: int, ids: JobIds, clock_ms: int | None) -> list[Taken]:
    """One pass over up to ``limit`` due schedules no other node's pass holds: two round
    trips (BEGIN + lock; the jobs' insert, the guards, the runs + COMMIT)."""
    async with transaction(conn):
        rows = await all_rows(conn, Q["lock_due_schedules"], {"n": limit, "now": clock_ms})
        if not rows:
            return []
        now = rows[0].now
        steps = [
            rules.step(scheduling.schedule_from_row(r), scheduling.last_state(r), now) for r in rows
        ]
        plan = common.plan_enqueue([s.job for s in steps if s.job is not None], ids, now)
        inserted = await jobs.insert(conn, plan.jobs, now)
        made = {s.name: j for s, j in zip([s for s in steps if s.job], plan.jobs, strict=True)}
        params = [scheduling.step_params(s, made.get(s.name), now) for s in steps]
        written = await conn.execute(Q["take_slots"], {**scheduling.columns(params), "now": now})
    # Impossible while the pass held the row locks; kept as a fence (as lease expiry's).
    if lost := await Pending(written, {s.name for s in steps}).refused():
        raise LeaseLost(f"the slot guards of schedules {sorted(lost)} moved during a pass")
    held = await _held(conn, [j for j in plan.jobs if j.id not in await inserted.ids()])
    return scheduling.taken(steps, {n: held.get(j.id, j) for n, j in made.items()}, now)


async def _held(conn: Conn, skipped: list[JobRecord]) -> dict[str, JobRecord]:
    """Planned id -> the stored job that already held its slot's key (a slot whose key
    someone else took: the guard was never lost, so this stays empty in practice)."""
    if not skipped:
        return {}
    keys: Any = ([j.queue for j in skipped], [j.idempotency_key for j in skipped])
    found = {
        (job.queue, job.idempotency_key): job
        for job in map(common.job_from_row, await all_rows(conn, Q["jobs_by_keys"], keys))
    }
    keyed = ((j.id, found.get((j.queue, j.idempotency_key))) for j in skipped)
    return {job_id: job for job_id, job in keyed if job is not None}


async def runs(conn: Conn, name: str, limit: int) -> list[ScheduleRun]:
    rows = await all_rows(conn, Q["schedule_runs"], {"name": name, "n": limit})
    return [scheduling.run_from_row(r) for r in rows]


async def purge_runs(conn: Conn, age_ms: int, limit: int, clock_ms: int | None) -> int:
    params = {"age": age_ms, "n": limit, "now": clock_ms}
    return (await conn.execute(Q["purge_schedule_runs"], params)).rowcount
