"""PostgreSQL side of job history, the worker registry and the per-queue counts.

A transition's event, its worker's tally and its count deltas are written by the same
statement as the job rows (``side_effects`` below, spliced into the write statements of
``postgres_sql``), so they commit with the rows or not at all and cost no round trip of
their own. What an event says and how it counts for its worker is decided by the pure
functions of ``leaseq.core.transitions``; this module only batches and stores. (Claim and
enqueue are the exceptions: their events are fixed, so ``postgres_sql.CLAIM`` and
``INSERT`` mirror ``event_for`` in SQL rather than ship and join back an array per job.)

Counts are an append-only ledger (``job_counts``): each write inserts its deltas as new
rows, which never conflict, instead of updating one shared counter row per (queue,
state), which every node's claims and acks would queue up on. Reads sum the ledger;
``compact`` folds it back to one row per (queue, state) so the sums stay short.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from leaseq.core.model import Action, DeadGroup, EventListing, EventRecord, JobState, WorkerInfo
from leaseq.core.transitions import worker_seen, worker_tally

Conn = AsyncConnection[TupleRow]

COMPACT_LOCK = 0x6C65_6173_6563  # advisory lock key: one compaction at a time

NOW_MS = "coalesce(%(now)s::bigint, (extract(epoch FROM clock_timestamp()) * 1000)::bigint)"
"""The ``now`` of every statement that needs one: the database server's clock, shared by
all nodes whatever their own clocks say. A statement that reads it takes a ``now``
parameter, NULL in production; a test that injects a ``Clock`` passes its time instead,
so leases expire and retries come due without sleeping. The parameter costs nothing
measurable: ``now`` is computed once per statement either way. (Defined here, not in
``postgres_sql``, because that module imports this one.)"""


def side_effects(written: str) -> str:
    """CTEs that record the transitions of the rows a write statement changed.

    ``written`` names an earlier CTE returning ``id, queue, state, old_state`` for each
    job row the statement wrote (``old_state`` NULL for a new job). The events come as
    arrays (``event_params``) and only those of written jobs are stored: a row that the
    write's guard refused leaves no event, tally or count. Worker rows are upserted in
    worker_id order: two batches that touch the same workers lock them in the same order
    and cannot deadlock.
    """
    return f"""
e AS (
    SELECT e.* FROM unnest(%(e_job)s::text[], %(e_at)s::bigint[], %(e_kind)s::text[],
                           %(e_state)s::text[], %(e_worker)s::text[], %(e_attempt)s::int[],
                           %(e_error)s::text[], %(e_seen)s::bigint[], %(e_done)s::bigint[],
                           %(e_failed)s::bigint[]) WITH ORDINALITY
         AS e(job_id, at, kind, state, worker_id, attempt, error, seen, done, failed, ord)
    WHERE e.job_id IN (SELECT {written}.id FROM {written})
),
ev AS (
    INSERT INTO job_events (job_id, at, kind, state, worker_id, attempt, error)
    SELECT e.job_id, e.at, e.kind, e.state, e.worker_id, e.attempt, e.error FROM e
    ORDER BY e.ord
),
tally AS (
    INSERT INTO workers AS w (worker_id, last_seen_at, done, failed)
    SELECT e.worker_id, max(e.seen), sum(e.done), sum(e.failed) FROM e
    WHERE e.worker_id IS NOT NULL
    GROUP BY e.worker_id HAVING (max(e.seen), sum(e.done), sum(e.failed)) <> (0, 0, 0)
    ORDER BY e.worker_id
    ON CONFLICT (worker_id) DO UPDATE SET
        last_seen_at = greatest(w.last_seen_at, excluded.last_seen_at),
        done = w.done + excluded.done, failed = w.failed + excluded.failed
),
counts AS (
    INSERT INTO job_counts (queue, state, n)
    SELECT {written}.queue, d.state, sum(d.n) FROM {written},
    LATERAL (VALUES ({written}.old_state, -1), ({written}.state, 1)) AS d(state, n)
    WHERE d.state IS NOT NULL AND {written}.old_state IS DISTINCT FROM {written}.state
    GROUP BY {written}.queue, d.state HAVING sum(d.n) <> 0
)"""


def event_params(events: Sequence[EventRecord]) -> dict[str, list[Any]]:
    """The arrays ``side_effects`` reads: each event, and what it adds to its worker's
    ``(last_seen, done, failed)`` (``transitions.worker_seen`` and ``worker_tally``)."""
    tallies = [worker_tally(e) for e in events]
    return {
        "e_job": [e.job_id for e in events],
        "e_at": [e.at for e in events],
        "e_kind": [e.kind.value for e in events],
        "e_state": [e.state.value for e in events],
        "e_worker": [e.worker_id for e in events],
        "e_attempt": [e.attempt for e in events],
        "e_error": [e.error for e in events],
        "e_seen": [e.at if worker_seen(e) else 0 for e in events],
        "e_done": [done for done, _ in tallies],
        "e_failed": [failed for _, failed in tallies],
    }


# Folds the ledger into one row per (queue, state), if no other node is at it. The rows
# deleted are those of this snapshot; deltas committed meanwhile stay and still add up.
COMPACT = f"""
WITH go AS (SELECT pg_try_advisory_xact_lock({COMPACT_LOCK}) AS ok),
gone AS (DELETE FROM job_counts WHERE (SELECT ok FROM go) RETURNING queue, state, n)
INSERT INTO job_counts (queue, state, n)
SELECT queue, state, sum(n) FROM gone GROUP BY queue, state
"""


async def events(conn: Conn, job_id: str, limit: int, after: int | None) -> EventListing:
    cursor = await conn.execute(
        "SELECT seq, job_id, at, kind, state, worker_id, attempt, error FROM job_events"
        " WHERE job_id = %s AND seq > %s ORDER BY seq LIMIT %s",
        (job_id, -1 if after is None else after, limit + 1),
    )
    rows = await cursor.fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return EventListing(
        [EventRecord(r[1], r[2], Action(r[3]), JobState(r[4]), r[5], r[6], r[7]) for r in rows],
        str(rows[-1][0]) if more else None,
    )


_WORKERS = f"""
SELECT w.worker_id, w.last_seen_at, w.done, w.failed, ARRAY(
    SELECT jobs.id FROM jobs WHERE jobs.state = 'LEASED' AND jobs.lease_owner = w.worker_id
    ORDER BY jobs.seq LIMIT 1000
)
FROM workers AS w
WHERE w.last_seen_at >= {NOW_MS} - %(within)s
ORDER BY w.last_seen_at DESC LIMIT %(limit)s
"""

_COUNT_WORKERS = f"SELECT count(*) FROM workers WHERE last_seen_at >= {NOW_MS} - %(within)s"


async def workers(
    conn: Conn, seen_within_ms: int, limit: int, clock_ms: int | None
) -> list[WorkerInfo]:
    """Recently seen workers with the jobs they hold (one jobs_held probe each).
    ``clock_ms`` is an injected clock's time, or None for the database's (``NOW_MS``)."""
    params = {"within": seen_within_ms, "limit": limit, "now": clock_ms}
    cursor = await conn.execute(_WORKERS, params)
    return [WorkerInfo(r[0], r[1], list(r[4]), r[2], r[3]) for r in await cursor.fetchall()]


async def count_workers(conn: Conn, seen_within_ms: int, clock_ms: int | None) -> int:
    cursor = await conn.execute(_COUNT_WORKERS, {"within": seen_within_ms, "now": clock_ms})
    row = await cursor.fetchone()
    return int(row[0]) if row else 0


_DEAD_GROUPS = """
SELECT g.last_error, g.n, ARRAY(
    SELECT jobs.id FROM jobs
    WHERE jobs.state = 'DEAD' AND jobs.queue = %(queue)s
      AND (jobs.last_error = g.last_error OR (jobs.last_error IS NULL AND g.last_error IS NULL))
    ORDER BY jobs.seq LIMIT %(ids)s
)
FROM (
    SELECT last_error, count(*) AS n FROM jobs WHERE state = 'DEAD' AND queue = %(queue)s
    GROUP BY last_error ORDER BY count(*) DESC, last_error LIMIT %(groups)s
) AS g
ORDER BY g.n DESC, g.last_error
"""


async def dead_groups(conn: Conn, queue: str, groups: int, ids: int) -> list[DeadGroup]:
    """DEAD jobs grouped by error, walking the jobs_dead partial index only."""
    cursor = await conn.execute(_DEAD_GROUPS, {"queue": queue, "groups": groups, "ids": ids})
    return [DeadGroup(r[0], r[1], list(r[2])) for r in await cursor.fetchall()]
