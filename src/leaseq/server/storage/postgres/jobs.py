"""The ``jobs`` table on PostgreSQL: enqueue, claim, the guarded write behind
``modify``, lease expiry and purge.

Each function runs on a connection the caller holds (``connection.run``) and opens its
own ``transaction`` when it needs more than one statement. Every write stores its events,
worker tallies and count deltas in the same statement as the job rows, so a claim is one
round trip and a modify two.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from leaseq.core.backoff import Backoff
from leaseq.core.commands import Command, reaping
from leaseq.core.model import (
    EventRecord,
    JobFilter,
    JobIds,
    JobListing,
    JobRecord,
    JobState,
    NewJob,
)
from leaseq.core.transitions import event_for
from leaseq.errors import LeaseLost, LeaseqError
from leaseq.server.storage import common, queries
from leaseq.server.storage.base import Claimed, apply_commands
from leaseq.server.storage.postgres import events
from leaseq.server.storage.postgres import queues as queues_
from leaseq.server.storage.postgres.connection import (
    Conn,
    Pending,
    Retry,
    all_rows,
    first,
    transaction,
)

Q = queries.load("leaseq.server.storage.postgres")
LISTING_NOW = Q["now_ms"].replace("%(now)s", "%s")
"""``now_ms`` with the positional marker a listing's parameters use."""


async def enqueue(
    conn: Conn, specs: Sequence[NewJob], ids: JobIds, clock_ms: int | None
) -> list[tuple[JobRecord, bool]]:
    """Two round trips (BEGIN + now, insert + COMMIT) when no spec has an idempotency
    key; otherwise the keys skipped must be looked up before COMMIT."""
    async with transaction(conn):
        now = (await first(conn, Q["select_now"], {"now": clock_ms})).now
        plan = common.plan_enqueue(specs, ids, now)
        pending = await insert(conn, plan.jobs, now)
        held: dict[common.IdempotencyKey, JobRecord] = {}
        if plan.keyed:
            inserted = await pending.ids()
            held = await existing(conn, [j for j in plan.jobs if j.id not in inserted])
    return plan.answers(await pending.ids(), held)


async def insert(conn: Conn, jobs: list[JobRecord], now: int) -> Pending:
    """Queues the insert of ``jobs`` in order, skipping those whose idempotency key is
    taken, with the events and count deltas of those inserted. ``ids()`` of the answer
    are the ids inserted."""
    params = {
        "now": now,
        "id": [j.id for j in jobs],
        "queue": [j.queue for j in jobs],
        "task": [j.task for j in jobs],
        "payload": [j.payload for j in jobs],
        "priority": [j.priority for j in jobs],
        "max_tries": [j.max_tries for j in jobs],
        "run_at": [j.run_at for j in jobs],
        "key": [j.idempotency_key for j in jobs],
        "ckey": [j.concurrency_key for j in jobs],
        "scope": [j.idempotency_scope.value for j in jobs],
        "timeout_ms": [j.timeout_ms for j in jobs],
        "tags": [common.tags_json(j.tags) for j in jobs],
        "traceparent": [j.traceparent for j in jobs],
    }
    return Pending(await conn.execute(Q["insert_jobs"], params), {j.id for j in jobs})


async def existing(conn: Conn, skipped: list[JobRecord]) -> dict[common.IdempotencyKey, JobRecord]:
    """The stored jobs that hold the idempotency keys of ``skipped``."""
    if not skipped:
        return {}
    keys = ([j.queue for j in skipped], [j.idempotency_key for j in skipped])
    found = {
        (job.queue, job.idempotency_key): job
        for job in map(common.job_from_row, await all_rows(conn, Q["jobs_by_keys"], keys))
    }
    if len(found) < len(skipped):
        # The holder of a key was purged between our insert and this read: run the whole
        # enqueue again, which now inserts a fresh job for that key.
        raise Retry("an idempotency key changed hands during enqueue")
    return found


async def claim(conn: Conn, params: dict[str, Any], limited: set[str]) -> Claimed:
    """Leases with the plain ``claim`` statement unless a named queue has settings:
    then with ``claim_limited``. ``limited`` is this node's guess of the limited queues
    (kept up to date here), which only spares a limited queue's claim the round trip
    of the plain statement: that statement checks for itself, and takes nothing if any
    named queue turns out to be limited."""
    queues = params["queues"]
    if limited.isdisjoint(queues):
        rows = await all_rows(conn, Q["claim"], params)
        if not rows[0].limited:
            return Claimed(_in_order(rows))
    rows, limits = await queues_.claim_limited(conn, params)
    limited.difference_update(queues)
    limited.update(limits)
    jobs = _in_order(rows)
    n = params["n"]
    return Claimed(jobs, queues_.held(limits, n) if len(jobs) < n else None)


def _in_order(rows: list[Any]) -> list[JobRecord]:
    """The jobs of a claim's rows, which come back in no particular order, put in poll
    order. The row without a job (``seq`` NULL) only brings ``now``."""
    taken = [row for row in rows if row.seq is not None]
    taken.sort(key=common.poll_order)
    return [common.job_from_row(row) for row in taken]


async def modify(
    conn: Conn, commands: Sequence[Command], clock_ms: int | None
) -> list[JobRecord | LeaseqError]:
    """Locks the jobs, applies the commands in order (``apply_commands``) and writes each
    changed job once, with its events, tallies and count deltas, in one statement: two
    round trips, BEGIN + lock and write + COMMIT. ``clock_ms`` is an injected clock's
    time, or None for the database's (``now_ms`` in ``queries.sql``)."""
    async with transaction(conn):
        params = {"ids": list({c.job_id for c in commands}), "now": clock_ms}
        rows = await all_rows(conn, Q["lock_by_ids"], params)
        now = rows[0].now if rows else 0
        read = {job.id: job for job in map(common.job_from_row, rows)}
        applied = apply_commands(read, commands, now)
        out = applied.answers
        pending = await write(conn, list(applied.writes.values()), applied.events)
    lost = await pending.refused()
    for index, command in enumerate(commands):
        if command.job_id in lost and isinstance(out[index], JobRecord):
            out[index] = LeaseLost(f"lease lost on job {command.job_id}: it changed underneath")
    return out


async def expire(conn: Conn, limit: int, clock_ms: int | None, backoff: Backoff) -> list[JobRecord]:
    async with transaction(conn):
        rows = await all_rows(conn, Q["lock_expired"], {"n": limit, "now": clock_ms})
        now = rows[0].now if rows else 0
        read = list(map(common.job_from_row, rows))
        reaps = [reaping(job, backoff) for job in read]
        pairs = [(job, reap.apply(job, now)) for job, reap in zip(read, reaps, strict=True)]
        expired = [
            event_for(reap.action, old, new)
            for (old, new), reap in zip(pairs, reaps, strict=True)
            if new is not old
        ]
        pending = await write(conn, pairs, expired)
    # Impossible while we held the row locks; kept as a fence. The rows that were
    # written committed with their own events and counts, so the store is whole.
    if lost := await pending.refused():
        raise LeaseLost(f"lease expiry lost a race on jobs {sorted(lost)}")
    return [new for _, new in pairs]


async def purge(conn: Conn, finished_before_ms: int, limit: int, clock_ms: int | None) -> int:
    params = {"age": finished_before_ms, "n": limit, "now": clock_ms}
    (count,) = await first(conn, Q["purge"], params)
    return int(count)


async def write(
    conn: Conn, pairs: list[tuple[JobRecord, JobRecord]], changes: Sequence[EventRecord]
) -> Pending:
    """Queues the write of each ``(read, new)`` pair whose command changed the job,
    guarded on the state and token it read, in one statement with the events of the jobs
    written, their workers' tallies and their count deltas. ``refused()`` of the answer
    are the ids the guard refused."""
    changed = [(old, new) for old, new in pairs if new is not old]
    if not changed:
        return Pending(None, set())
    params = {
        **events.params(changes),
        "id": [new.id for _, new in changed],
        "state": [new.state.value for _, new in changed],
        "attempts": [new.attempts for _, new in changed],
        "run_at": [new.run_at for _, new in changed],
        "lease_owner": [new.lease_owner for _, new in changed],
        "lease_token": [new.lease_token for _, new in changed],
        "lease_expires_at": [new.lease_expires_at for _, new in changed],
        "last_error": [new.last_error for _, new in changed],
        "result": [new.result for _, new in changed],
        "updated_at": [new.updated_at for _, new in changed],
        "leased_at": [new.leased_at for _, new in changed],
        "old_state": [old.state.value for old, _ in changed],
        "old_token": [old.lease_token for old, _ in changed],
        "idempotency_key": [new.idempotency_key for _, new in changed],
        "last_error_type": [new.last_error_type for _, new in changed],
        "last_error_message": [new.last_error_message for _, new in changed],
        "progress": [new.progress for _, new in changed],
        "checkpoint": [new.checkpoint for _, new in changed],
    }
    return Pending(await conn.execute(Q["write"], params), {new.id for _, new in changed})


# -- reads ---------------------------------------------------------------------------------


async def get(conn: Conn, job_id: str) -> JobRecord | None:
    row = await (await conn.execute(Q["get_job"], (job_id,))).fetchone()
    return None if row is None else common.job_from_row(row)


def listing(
    state: JobState | None,
    queue: str | None,
    limit: int,
    cursor: str | None,
    max_bytes: int,
    match: JobFilter | None = None,
    clock_ms: int | None = None,
) -> tuple[str, tuple[object, ...]]:
    """The query of a job listing and its parameters; built before the connection is
    taken, so that a bad cursor is refused without one. ``clock_ms`` is an injected
    clock's time, or None for the database's (``now_ms``, with a positional marker as the
    listing's other parameters have)."""
    found = common.listing_filter(state, queue, cursor, "%s", match, (LISTING_NOW, clock_ms))
    query = queries.fill(Q["list_jobs"], source=found.source, where=found.where, seq=found.seq)
    return query, (*found.params, limit + 1, limit, max_bytes)


async def list_jobs(conn: Conn, query: str, params: tuple[object, ...]) -> JobListing:
    """The statement cuts the page at its budget itself (``list_jobs`` in ``queries.sql``)."""
    return common.job_listing(common.cut_page(await all_rows(conn, query, params)))
