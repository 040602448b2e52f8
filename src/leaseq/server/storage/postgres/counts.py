"""Per-queue counts on PostgreSQL, and the next job due.

Counts are an append-only ledger (``job_counts``): each write inserts its deltas as new
rows, which never conflict, instead of updating one shared counter row per (queue,
state), which every node's claims and acks would queue up on. Reads sum the ledger;
``compact`` folds it back to one row per (queue, state) so the sums stay short.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import psycopg

from leaseq.core.model import JobState, QueueCounts
from leaseq.server.storage import queries
from leaseq.server.storage.common import oldest_age_s
from leaseq.server.storage.postgres.connection import Conn, all_rows, first

Q = queries.load("leaseq.server.storage.postgres")


async def compact(conn: Conn) -> None:
    # A read-only database (a standby) cannot fold the ledger, but its sums are still
    # exact: reads such as stats must go on answering.
    with contextlib.suppress(psycopg.errors.ReadOnlySqlTransaction):
        await conn.execute(Q["compact"])


async def stats(conn: Conn, clock_ms: int | None) -> dict[str, QueueCounts]:
    """Sums the count ledger instead of scanning jobs; exact in any snapshot, because
    every write appends its deltas in its own transaction."""
    out: dict[str, QueueCounts] = {}
    for row in await all_rows(conn, Q["stats"], {"now": clock_ms}):
        counts = out.setdefault(row.queue, QueueCounts())
        counts.counts[JobState(row.state)] = row.n
        if row.oldest is not None:
            counts.oldest_queued_age_s = oldest_age_s(row.oldest, row.now)
    return out


async def next_ready_in(conn: Conn, queues: Sequence[str], clock_ms: int | None) -> float | None:
    row = await first(conn, Q["next_ready"], {"queues": list(queues), "now": clock_ms})
    return None if row.ready_in is None else row.ready_in / 1000
