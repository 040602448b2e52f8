"""Dead letters on PostgreSQL: the ids of a queue's DEAD jobs, and those jobs by error."""

from __future__ import annotations

from leaseq.core.model import DeadGroup
from leaseq.server.storage import queries
from leaseq.server.storage.postgres.connection import Conn, all_rows

Q = queries.load("leaseq.server.storage.postgres")


async def ids(conn: Conn, queue: str, after: str | None, limit: int) -> list[str]:
    return [row.id for row in await all_rows(conn, Q["dead_ids"], (queue, after, limit))]


async def groups(conn: Conn, queue: str, groups: int, ids: int) -> list[DeadGroup]:
    """DEAD jobs by (type, message) when the type is set, else by ``last_error``."""
    params = {"queue": queue, "groups": groups, "ids": ids}
    rows = await all_rows(conn, Q["dead_groups"], params)
    return [DeadGroup(row.last_error, row.n, list(row.ids), row.type, row.message) for row in rows]
