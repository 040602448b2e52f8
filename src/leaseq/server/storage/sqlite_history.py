"""SQLite side of job history and the worker registry.

These run inside the writer's transactions, so an event and a worker's tally commit
together with the transition they describe, or not at all.
"""

from __future__ import annotations

import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from leaseq.core.model import Action, DeadGroup, EventListing, EventRecord, JobState, WorkerInfo
from leaseq.core.transitions import worker_seen, worker_tally

_INSERT_EVENT = (
    "INSERT INTO job_events (job_id, at, kind, state, worker_id, attempt, error)"
    " VALUES (?, ?, ?, ?, ?, ?, ?)"
)
_TALLY = (
    "INSERT INTO workers (worker_id, last_seen_at, done, failed) VALUES (?, ?, ?, ?)"
    " ON CONFLICT (worker_id) DO UPDATE SET last_seen_at = max(last_seen_at,"
    " excluded.last_seen_at), done = done + excluded.done, failed = failed + excluded.failed"
)


def record(conn: sqlite3.Connection, events: Sequence[EventRecord]) -> None:
    """Appends the events and folds them into one upsert per worker."""
    if not events:
        return
    conn.executemany(
        _INSERT_EVENT,
        [(e.job_id, e.at, e.kind.value, e.state.value, e.worker_id, e.attempt, e.error)
         for e in events],
    )  # fmt: skip
    tallies: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for e in events:
        if e.worker_id is None:
            continue
        done, failed = worker_tally(e)
        tally = tallies[e.worker_id]
        tally[0] = max(tally[0], e.at if worker_seen(e) else 0)
        tally[1] += done
        tally[2] += failed
    conn.executemany(_TALLY, [(w, seen, d, f) for w, (seen, d, f) in tallies.items()])


_COUNT = (
    "INSERT INTO queue_counts (queue, state, n) VALUES (?, ?, ?)"
    " ON CONFLICT (queue, state) DO UPDATE SET n = n + excluded.n"
)


def count(conn: sqlite3.Connection, deltas: Counter[tuple[str, str]]) -> None:
    """Applies per-(queue, state) count changes, one upsert per key for the whole
    operation. Every write to ``jobs`` goes through this writer, so keeping counts here
    replaces per-row triggers (two statements per changed row)."""
    rows = [(q, s, n) for (q, s), n in deltas.items() if n]
    if rows:
        conn.executemany(_COUNT, rows)


def touch_worker(conn: sqlite3.Connection, worker_id: str, now: int) -> None:
    conn.execute(_TALLY, (worker_id, now, 0, 0))


def purge(conn: sqlite3.Connection, job_ids: Iterable[str], cutoff: int) -> None:
    conn.executemany("DELETE FROM job_events WHERE job_id = ?", [(i,) for i in job_ids])
    conn.execute("DELETE FROM workers WHERE last_seen_at < ?", (cutoff,))


def events(conn: sqlite3.Connection, job_id: str, limit: int, after: int | None) -> EventListing:
    rows = conn.execute(
        "SELECT seq, job_id, at, kind, state, worker_id, attempt, error FROM job_events"
        " WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (job_id, -1 if after is None else after, limit + 1),
    ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return EventListing(
        [EventRecord(r[1], r[2], Action(r[3]), JobState(r[4]), r[5], r[6], r[7]) for r in rows],
        str(rows[-1][0]) if more else None,
    )


def workers(conn: sqlite3.Connection, since: int, limit: int) -> list[WorkerInfo]:
    rows = conn.execute(
        "SELECT worker_id, last_seen_at, done, failed FROM workers WHERE last_seen_at >= ?"
        " ORDER BY last_seen_at DESC LIMIT ?",
        (since, limit),
    ).fetchall()
    out = []
    for worker_id, seen, done, failed in rows:
        held = conn.execute(
            "SELECT id FROM jobs INDEXED BY jobs_held WHERE state = 'LEASED' AND lease_owner = ?"
            " LIMIT 1000",
            (worker_id,),
        )
        out.append(WorkerInfo(worker_id, seen, [r[0] for r in held], done, failed))
    return out


def dead_groups(conn: sqlite3.Connection, queue: str, groups: int, n: int) -> list[DeadGroup]:
    rows = conn.execute(
        "SELECT last_error, count(*) FROM jobs INDEXED BY jobs_dead"
        " WHERE state = 'DEAD' AND queue = ? GROUP BY last_error ORDER BY count(*) DESC LIMIT ?",
        (queue, groups),
    ).fetchall()
    out = []
    for error, count in rows:
        ids = conn.execute(
            "SELECT id FROM jobs INDEXED BY jobs_dead"
            " WHERE state = 'DEAD' AND queue = ? AND last_error IS ? LIMIT ?",
            (queue, error, n),
        )
        out.append(DeadGroup(error, count, [r[0] for r in ids]))
    return out
