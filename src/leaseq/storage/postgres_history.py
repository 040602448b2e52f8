"""PostgreSQL side of job history, the worker registry and the per-queue counts.

``record`` runs inside the transaction of the transition it describes, after the write
statement, so an event, its worker's tally and the count deltas commit with the job row
or not at all. What an event says and how it counts for its worker is decided by the
pure functions of ``leaseq.transitions``; this module only batches and stores.

Counts are an append-only ledger (``job_counts``): each write inserts its deltas as new
rows, which never conflict, instead of updating one shared counter row per (queue,
state), which every node's claims and acks would queue up on. Reads sum the ledger;
``compact`` folds it back to one row per (queue, state) so the sums stay short.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from psycopg import AsyncConnection
from psycopg.rows import TupleRow

from leaseq.model import Action, DeadGroup, Event, Job, JobState, WorkerInfo
from leaseq.transitions import worker_seen, worker_tally

Conn = AsyncConnection[TupleRow]

COMPACT_LOCK = 0x6C65_6173_6563  # advisory lock key: one compaction at a time

# One statement for the three side effects of a transition. Worker rows are upserted in
# worker_id order (the arrays come sorted): two batches that touch the same workers lock
# them in the same order and cannot deadlock.
RECORD = """
WITH ev AS (
    INSERT INTO job_events (job_id, at, kind, state, worker_id, attempt, error)
    SELECT e.job_id, e.at, e.kind, e.state, e.worker_id, e.attempt, e.error
    FROM unnest(%(e_job)s::text[], %(e_at)s::bigint[], %(e_kind)s::text[],
                %(e_state)s::text[], %(e_worker)s::text[], %(e_attempt)s::int[],
                %(e_error)s::text[]) WITH ORDINALITY
         AS e(job_id, at, kind, state, worker_id, attempt, error, ord)
    ORDER BY e.ord
),
tally AS (
    INSERT INTO workers AS w (worker_id, last_seen_at, done, failed)
    SELECT v.worker_id, v.seen, v.done, v.failed
    FROM unnest(%(w_id)s::text[], %(w_seen)s::bigint[], %(w_done)s::bigint[],
                %(w_failed)s::bigint[]) WITH ORDINALITY AS v(worker_id, seen, done, failed, ord)
    ORDER BY v.ord
    ON CONFLICT (worker_id) DO UPDATE SET
        last_seen_at = greatest(w.last_seen_at, excluded.last_seen_at),
        done = w.done + excluded.done, failed = w.failed + excluded.failed
),
counts AS (
    INSERT INTO job_counts (queue, state, n)
    SELECT * FROM unnest(%(c_queue)s::text[], %(c_state)s::text[], %(c_n)s::bigint[])
)
SELECT 1
"""

# Folds the ledger into one row per (queue, state), if no other node is at it. The rows
# deleted are those of this snapshot; deltas committed meanwhile stay and still add up.
COMPACT = f"""
WITH go AS (SELECT pg_try_advisory_xact_lock({COMPACT_LOCK}) AS ok),
gone AS (DELETE FROM job_counts WHERE (SELECT ok FROM go) RETURNING queue, state, n)
INSERT INTO job_counts (queue, state, n)
SELECT queue, state, sum(n) FROM gone GROUP BY queue, state
"""


def deltas(pairs: Iterable[tuple[Job | None, Job]]) -> Counter[tuple[str, str]]:
    """Count changes of ``(before, after)`` pairs; ``before`` is None for a new job."""
    out: Counter[tuple[str, str]] = Counter()
    for old, new in pairs:
        if old is not None and old.state is new.state:
            continue
        if old is not None:
            out[old.queue, old.state.value] -= 1
        out[new.queue, new.state.value] += 1
    return out


def tallies(events: Sequence[Event], touch: tuple[str, int] | None) -> dict[str, list[int]]:
    """Folds the events into one ``[last_seen, done, failed]`` per worker, plus the
    ``touch`` of a worker seen without an event (a claim that found nothing)."""
    out: dict[str, list[int]] = {}
    if touch is not None:
        out[touch[0]] = [touch[1], 0, 0]
    for e in events:
        if e.worker_id is None:
            continue
        done, failed = worker_tally(e)
        tally = out.setdefault(e.worker_id, [0, 0, 0])
        tally[0] = max(tally[0], e.at if worker_seen(e) else 0)
        tally[1] += done
        tally[2] += failed
    return {w: t for w, t in out.items() if t != [0, 0, 0]}


async def record(
    conn: Conn,
    events: Sequence[Event],
    counts: Counter[tuple[str, str]],
    touch: tuple[str, int] | None = None,
) -> None:
    """Appends the events, upserts each worker once and appends the count deltas."""
    workers = sorted(tallies(events, touch).items())
    counts = Counter({key: n for key, n in counts.items() if n})
    if not (events or workers or counts):
        return
    params: dict[str, list[Any]] = {
        "e_job": [e.job_id for e in events],
        "e_at": [e.at for e in events],
        "e_kind": [e.kind.value for e in events],
        "e_state": [e.state.value for e in events],
        "e_worker": [e.worker_id for e in events],
        "e_attempt": [e.attempt for e in events],
        "e_error": [e.error for e in events],
        "w_id": [w for w, _ in workers],
        "w_seen": [t[0] for _, t in workers],
        "w_done": [t[1] for _, t in workers],
        "w_failed": [t[2] for _, t in workers],
        "c_queue": [q for q, _ in counts],
        "c_state": [s for _, s in counts],
        "c_n": list(counts.values()),
    }
    await conn.execute(RECORD, params)


async def events(conn: Conn, job_id: str) -> list[Event]:
    cursor = await conn.execute(
        "SELECT job_id, at, kind, state, worker_id, attempt, error FROM job_events"
        " WHERE job_id = %s ORDER BY seq",
        (job_id,),
    )
    return [
        Event(r[0], r[1], Action(r[2]), JobState(r[3]), r[4], r[5], r[6])
        for r in await cursor.fetchall()
    ]


_WORKERS = """
SELECT w.worker_id, w.last_seen_at, w.done, w.failed, ARRAY(
    SELECT jobs.id FROM jobs WHERE jobs.state = 'LEASED' AND jobs.lease_owner = w.worker_id
    ORDER BY jobs.seq LIMIT 1000
)
FROM workers AS w
WHERE w.last_seen_at >= (extract(epoch FROM clock_timestamp()) * 1000)::bigint - %s
ORDER BY w.last_seen_at DESC LIMIT %s
"""


async def workers(conn: Conn, seen_within_ms: int, limit: int) -> list[WorkerInfo]:
    """Recently seen workers with the jobs they hold (one jobs_held probe each)."""
    cursor = await conn.execute(_WORKERS, (seen_within_ms, limit))
    return [WorkerInfo(r[0], r[1], list(r[4]), r[2], r[3]) for r in await cursor.fetchall()]


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
