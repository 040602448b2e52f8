"""Per-queue counts on SQLite: a ``queue_counts`` row per (queue, state), kept by the
writer, so ``stats`` never scans ``jobs``.

Every write to ``jobs`` goes through the one writer thread, so each operation adds its
count changes itself, one upsert per (queue, state) it changed, in its own transaction:
cheaper than per-row triggers (two statements per changed row).
"""

from __future__ import annotations

import sqlite3
from collections import Counter

from leaseq.core.model import JobState, QueueCounts
from leaseq.server.storage import queries
from leaseq.server.storage.common import oldest_age_s

Q = queries.load("leaseq.server.storage.sqlite")


def add(conn: sqlite3.Connection, deltas: Counter[tuple[str, str]]) -> None:
    """Applies per-(queue, state) count changes, one upsert per key for the operation."""
    rows = [(q, s, n) for (q, s), n in deltas.items() if n]
    if rows:
        conn.executemany(Q["add_count"], rows)


def stats(conn: sqlite3.Connection, now: int) -> dict[str, QueueCounts]:
    out: dict[str, QueueCounts] = {}
    for row in conn.execute(Q["queue_counts"]):
        out.setdefault(row.queue, QueueCounts()).counts[JobState(row.state)] = row.n
    for queue, counts in out.items():
        oldest = conn.execute(Q["oldest_queued"], (queue,)).fetchone().oldest
        counts.oldest_queued_age_s = oldest_age_s(oldest, now)
    return out
