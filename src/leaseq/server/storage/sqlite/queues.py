"""Queue settings on SQLite, and the part of a claim that obeys them.

One writer thread runs every claim inside its ``BEGIN IMMEDIATE`` transaction, so the
counts a claim of a limited queue reads (LEASED jobs, leases in the rate window, LEASED
jobs per key) cannot change before it writes its leases: the check and the write are
one serial step, and no other claim can slip between them. Queues without settings
take the plain path of ``jobs.claim``: one probe of ``queues`` per claim, no count.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from leaseq.core.queues import HeldBack, QueueChange, QueueSettings, claimable, held_back
from leaseq.server.storage import common, queries
from leaseq.server.storage.common import Row

Q = queries.load("leaseq.server.storage.sqlite")


def _marks(n: int) -> str:
    return ", ".join("?" * n)


def settings(conn: sqlite3.Connection, names: Sequence[str] | None) -> dict[str, QueueSettings]:
    if names is None:
        rows = conn.execute(Q["all_queue_settings"]).fetchall()
        return {row.name: common.settings_from_row(row) for row in rows}
    wanted = list(dict.fromkeys(names))
    out = dict.fromkeys(wanted, QueueSettings())
    query = queries.fill(Q["queue_settings"], names=_marks(len(wanted)))
    out.update((r.name, common.settings_from_row(r)) for r in conn.execute(query, wanted))
    return out


def limited(conn: sqlite3.Connection, names: Iterable[str]) -> dict[str, QueueSettings]:
    """The settings of the queues among ``names`` that are limited; {} for most claims."""
    wanted = list(names)
    if not wanted:
        return {}
    query = queries.fill(Q["limited_queues"], names=_marks(len(wanted)))
    return {r.name: common.settings_from_row(r) for r in conn.execute(query, wanted)}


def update(
    conn: sqlite3.Connection, name: str, change: QueueChange, now: int
) -> tuple[QueueSettings, QueueSettings]:
    """(before, after): one read and one upsert inside the writer's transaction."""
    before = settings(conn, [name])[name]
    after = change.apply(before)
    values = common.settings_values(after)
    conn.execute(Q["upsert_queue"], (name, *values.values(), now))
    if after.rate_limit is None:
        conn.execute(Q["forget_leases"], (name,))
    return before, after


@dataclass(slots=True)
class Heads:
    """What a limited queue lets one claim take, and why it held back the rest."""

    rows: list[Row]
    held: HeldBack | None


def heads(conn: sqlite3.Connection, queue: str, s: QueueSettings, n: int, now: int) -> Heads:
    """The ready jobs of a limited queue that a claim of ``n`` may take, in poll order."""
    if s.paused:
        ready = conn.execute(Q["ready"], (queue, now, 1)).fetchall()
        return Heads([], HeldBack.PAUSED if ready else None)
    leased = in_window = 0
    if s.concurrency is not None:
        row = conn.execute(Q["leased_count"], (queue,)).fetchone()
        leased = 0 if row is None else row.n
    if s.rate_limit is not None:
        since = now - s.rate_limit.per_ms
        conn.execute(Q["prune_leases"], (queue, since))
        in_window = conn.execute(Q["leases_in_window"], (queue, since)).fetchone().n
    room = claimable(s, leased, in_window, n)
    dropped = 0
    if s.key_concurrency is None:
        # One row past the room: if it exists, a job waited for the queue's room.
        passed = conn.execute(Q["ready"], (queue, now, room + 1)).fetchall()
    else:
        rows = conn.execute(Q["ready_keyed"], (queue, now, common.KEY_SCAN_ROWS)).fetchall()
        passed, dropped = _per_key(conn, queue, s.key_concurrency, rows, room + 1)
    return Heads(passed[:room], held_back(s, leased, in_window, n, len(passed), dropped))


def _per_key(
    conn: sqlite3.Connection, queue: str, limit: int, rows: list[Row], enough: int
) -> tuple[list[Row], int]:
    """The rows, in order, whose key still has room (keyless rows always do), up to
    ``enough`` of them, and how many the per-key limit kept back on the way. Each key's
    LEASED jobs are counted once, when the walk first meets it, and no further than the
    limit."""
    used: dict[str, int] = {}
    passed: list[Row] = []
    dropped = 0
    for row in rows:
        if len(passed) >= enough:
            break
        key = row.concurrency_key
        if key is not None:
            if key not in used:
                used[key] = conn.execute(Q["leased_with_key"], (queue, key, limit)).fetchone().n
            if used[key] >= limit:
                dropped += 1
                continue
            used[key] += 1
        passed.append(row)
    return passed, dropped


def log_leases(
    conn: sqlite3.Connection, limits: dict[str, QueueSettings], taken: Counter[str], now: int
) -> None:
    """Records the lease times of rate-limited queues, for their windows."""
    rated = [q for q, s in limits.items() if s.rate_limit is not None]
    rows = [(q, now) for q in rated for _ in range(taken[q])]
    if rows:
        conn.executemany(Q["log_lease"], rows)


def rate_frees_in(conn: sqlite3.Connection, queues: Sequence[str], now: int) -> list[int]:
    """For each rate-limited queue of ``queues`` whose window is full, the milliseconds
    until its next lease may be taken."""
    out = []
    for queue, s in limited(conn, dict.fromkeys(queues)).items():
        rate = s.rate_limit
        if rate is None or s.paused:
            continue
        since = now - rate.per_ms
        full = conn.execute(Q["leases_in_window"], (queue, since)).fetchone().n - rate.count
        if full >= 0:
            row = conn.execute(Q["rate_frees_at"], (queue, since, full)).fetchone()
            if row is not None:
                out.append(row.at + rate.per_ms - now)
    return out
