"""Job history on SQLite: the events each transition leaves, and their pages.

Events are recorded inside the writer's transaction of the transition they describe, so
they commit with it or not at all; recording them also folds them into their workers'
tallies (``workers.tally``).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterable, Sequence

from leaseq.core.model import EventListing, EventRecord
from leaseq.server.storage import common, queries
from leaseq.server.storage.common import events_after
from leaseq.server.storage.sqlite import workers

Q = queries.load("leaseq.server.storage.sqlite")


def record(conn: sqlite3.Connection, events: Sequence[EventRecord]) -> None:
    """Appends the events and folds them into one upsert per worker."""
    if not events:
        return
    conn.executemany(
        Q["insert_event"],
        [(e.job_id, e.at, e.kind.value, e.state.value, e.worker_id, e.attempt, e.error)
         for e in events],
    )  # fmt: skip
    workers.tally(conn, events)


def page(
    conn: sqlite3.Connection, job_id: str, limit: int, cursor: str | None, max_bytes: int
) -> EventListing:
    """Read one row at a time up to the budget, as ``jobs.list_jobs``."""
    params = (job_id, events_after(cursor), limit + 1)
    with contextlib.closing(conn.execute(Q["events"], params)) as rows:
        return common.event_listing(common.page(rows, limit, max_bytes, common.event_bytes))


def purge(conn: sqlite3.Connection, job_ids: Iterable[str]) -> None:
    conn.executemany(Q["purge_events"], [(i,) for i in job_ids])
