"""Dead letters on SQLite: the ids of a queue's DEAD jobs, and those jobs by error."""

from __future__ import annotations

import sqlite3

from leaseq.core.model import DeadGroup
from leaseq.server.storage import queries

Q = queries.load("leaseq.server.storage.sqlite")


def ids(conn: sqlite3.Connection, queue: str, after: str | None, limit: int) -> list[str]:
    return [row.id for row in conn.execute(Q["dead_ids"], (queue, after, limit))]


def groups(conn: sqlite3.Connection, queue: str, groups: int, n: int) -> list[DeadGroup]:
    """DEAD jobs by (type, message) when the type is set, else by ``last_error``."""
    out = []
    for row in conn.execute(Q["dead_groups"], {"queue": queue, "groups": groups}).fetchall():
        key = {"queue": queue, "type": row.type, "message": row.message, "text": row.text}
        held = conn.execute(Q["dead_group_ids"], {**key, "ids": n})
        ids = [r.id for r in held]
        out.append(DeadGroup(row.last_error, row.n, ids, row.type, row.message))
    return out
