"""Job history on PostgreSQL: the events a write records, and their pages.

A transition's event, its worker's tally and its count deltas are written by the same
statement as the job rows (the ``side_effects`` CTEs of ``queries.sql``, part of
``write``), so they commit with the rows or not at all and cost no round trip of their
own. What an event says and how it counts for its worker is decided by the pure functions
of ``leaseq.core.transitions``; this module only hands them over as arrays. (Claim and
enqueue are the exceptions: their events are fixed, so ``claim`` and ``insert_jobs``
mirror ``event_for`` in SQL rather than ship and join back an array per job.)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from leaseq.core.model import EventListing, EventRecord
from leaseq.core.transitions import worker_seen, worker_tally
from leaseq.server.storage import common, queries
from leaseq.server.storage.common import events_after
from leaseq.server.storage.postgres.connection import Conn, all_rows

Q = queries.load("leaseq.server.storage.postgres")


def params(events: Sequence[EventRecord]) -> dict[str, list[Any]]:
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


async def page(
    conn: Conn, job_id: str, limit: int, cursor: str | None, max_bytes: int
) -> EventListing:
    """The statement cuts the page at its budget itself (``events`` in ``queries.sql``)."""
    params = (job_id, events_after(cursor), limit + 1, limit, max_bytes)
    return common.event_listing(common.cut_page(await all_rows(conn, Q["events"], params)))
