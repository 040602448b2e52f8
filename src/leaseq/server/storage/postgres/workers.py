"""The worker registry on PostgreSQL: recently seen workers and the jobs they hold.

Workers are upserted by the claim statement (seen even when nothing was ready) and by
the ``side_effects`` of writes; this module only reads them.
"""

from __future__ import annotations

from leaseq.core.model import WorkerInfo
from leaseq.server.storage import queries
from leaseq.server.storage.postgres.connection import Conn, all_rows, first

Q = queries.load("leaseq.server.storage.postgres")


async def seen(
    conn: Conn, seen_within_ms: int, limit: int, clock_ms: int | None
) -> list[WorkerInfo]:
    """Recently seen workers with the jobs they hold (one jobs_held probe each).
    ``clock_ms`` is an injected clock's time, or None for the database's (``now_ms``)."""
    rows = await all_rows(
        conn, Q["workers"], {"within": seen_within_ms, "limit": limit, "now": clock_ms}
    )
    return [
        WorkerInfo(
            row.worker_id,
            row.last_seen_at,
            list(row.held),
            row.done,
            row.failed,
            list(row.queues),
            row.concurrency,
        )
        for row in rows
    ]


async def count(conn: Conn, seen_within_ms: int, clock_ms: int | None) -> int:
    (n,) = await first(conn, Q["count_workers"], {"within": seen_within_ms, "now": clock_ms})
    return int(n)
