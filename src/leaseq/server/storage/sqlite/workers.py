"""The worker registry on SQLite: when each worker was last seen and what it finished.

A worker's row is upserted by the claims it makes (seen even when nothing was ready) and
by the events of its jobs, inside the writer's transaction that records them.
"""

from __future__ import annotations

import json
import sqlite3
from collections import defaultdict
from collections.abc import Sequence

from leaseq.core.model import EventRecord, WorkerInfo
from leaseq.core.transitions import worker_seen, worker_tally
from leaseq.server.storage import queries

Q = queries.load("leaseq.server.storage.sqlite")


def tally(conn: sqlite3.Connection, events: Sequence[EventRecord]) -> None:
    """Folds the events into one upsert per worker: when it was last seen, and what its
    jobs' events add to its done and failed counts (``transitions.worker_tally``)."""
    tallies: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for e in events:
        if e.worker_id is None:
            continue
        done, failed = worker_tally(e)
        counts = tallies[e.worker_id]
        counts[0] = max(counts[0], e.at if worker_seen(e) else 0)
        counts[1] += done
        counts[2] += failed
    conn.executemany(Q["tally_worker"], [(w, seen, d, f) for w, (seen, d, f) in tallies.items()])


def touch(
    conn: sqlite3.Connection,
    worker_id: str,
    now: int,
    queues: Sequence[str],
    concurrency: int | None,
) -> None:
    """A poll: seen now, with what it polls and how many jobs it runs at once."""
    conn.execute(Q["touch_worker"], (worker_id, now, json.dumps(list(queues)), concurrency))


def purge(conn: sqlite3.Connection, cutoff: int) -> None:
    conn.execute(Q["purge_workers"], (cutoff,))


def seen(conn: sqlite3.Connection, since: int, limit: int) -> list[WorkerInfo]:
    out = []
    for row in conn.execute(Q["workers"], (since, limit)).fetchall():
        held = conn.execute(Q["held_jobs"], (row.worker_id,))
        out.append(
            WorkerInfo(
                row.worker_id,
                row.last_seen_at,
                [r.id for r in held],
                row.done,
                row.failed,
                json.loads(row.queues),
                row.concurrency,
            )
        )
    return out


def count(conn: sqlite3.Connection, since: int) -> int:
    (n,) = conn.execute(Q["count_workers"], (since,)).fetchone()
    return int(n)
