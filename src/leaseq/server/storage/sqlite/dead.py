"""Dead letters on SQLite: the ids of a queue's DEAD jobs, and those jobs by error."""

from __future__ import annotations

import sqlite3

from leaseq.core.model import DeadGroup
from leaseq.server.storage import queries

Q = queries.load("leaseq.server.storage.sqlite")


def ids(conn: sqlite3.Connection, queue: str, after: str | None, limit: int) -> list[str]:
    return [row.id for row in conn.execute(Q["dead_ids"], (queue, after, limit))]


def groups(conn: sqlite3.Connection, queue: str, groups: int, n: int) -> list[DeadGroup]:
    out = []
    for row in conn.execute(Q["dead_groups"], (queue, groups)).fetchall():
        held = conn.execute(Q["dead_group_ids"], (queue, row.last_error, n))
        out.append(DeadGroup(row.last_error, row.n, [r.id for r in held]))
    return out
