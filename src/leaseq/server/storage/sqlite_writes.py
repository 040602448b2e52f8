"""The statements of SQLite writes and their row mapping, kept apart from the connection
threads and reads of ``sqlite``. Each function runs on the writer's connection inside the
writer's transaction, and never commits."""

from __future__ import annotations

import functools
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from leaseq.core.commands import Command
from leaseq.core.model import JobRecord, JobState
from leaseq.errors import LeaseLost, LeaseqError
from leaseq.server.storage import sqlite_history
from leaseq.server.storage.base import apply_commands

COLUMNS = (
    "id, queue, task, payload, state, priority, attempts, max_tries, run_at, lease_owner,"
    " lease_token, lease_expires_at, last_error, result, idempotency_key, created_at,"
    " updated_at, leased_at"
)
INSERT = f"INSERT INTO jobs ({COLUMNS}) VALUES ({', '.join('?' * 18)})"
_MUTABLE = (
    "state", "attempts", "run_at", "lease_owner", "lease_token", "lease_expires_at",
    "last_error", "result", "updated_at", "leased_at",
)  # fmt: skip


def row_to_job(row: Sequence[object]) -> JobRecord:
    values = list(row)
    values[4] = JobState(str(values[4]))
    return JobRecord(*values)  # type: ignore[arg-type]


def job_values(job: JobRecord) -> tuple[object, ...]:
    return (
        job.id, job.queue, job.task, job.payload, job.state.value, job.priority,
        job.attempts, job.max_tries, job.run_at, job.lease_owner, job.lease_token,
        job.lease_expires_at, job.last_error, job.result, job.idempotency_key,
        job.created_at, job.updated_at, job.leased_at,
    )  # fmt: skip


@functools.lru_cache(maxsize=128)
def _update_sql(columns: tuple[str, ...]) -> str:
    """An UPDATE of just these columns: SQLite rewrites an index entry when the statement
    sets one of its columns, so naming only what changed spares most of the indexes on
    ``jobs`` (an ack touches four columns, a heartbeat two)."""
    sets = ", ".join(f"{c} = ?" for c in columns)
    return f"UPDATE jobs SET {sets} WHERE id = ? AND state = ? AND lease_token IS ?"


def _write(conn: sqlite3.Connection, writes: Iterable[tuple[JobRecord, JobRecord]]) -> int:
    """Writes each (as read, as it must be stored) pair guarded on what was read, one
    ``executemany`` per set of changed columns; returns the rows written."""
    groups: dict[tuple[str, ...], list[tuple[object, ...]]] = defaultdict(list)
    for old, new in writes:
        columns = tuple(c for c in _MUTABLE if getattr(old, c) != getattr(new, c))
        values = [getattr(new, c) for c in columns]
        groups[columns].append((*values, old.id, old.state.value, old.lease_token))
    # A transition may leave every column as it was (a heartbeat in the same millisecond
    # as its lease): nothing to write, and an empty SET would not even parse.
    unchanged = len(groups.pop((), ()))
    return unchanged + sum(
        conn.executemany(_update_sql(cols), rows).rowcount for cols, rows in groups.items()
    )


def transition(
    conn: sqlite3.Connection, current: dict[str, JobRecord], commands: Sequence[Command], now: int
) -> list[JobRecord | LeaseqError]:
    """Applies the commands (``apply_commands``), then writes every changed job with its
    events and count changes."""
    applied = apply_commands(current, commands, now)
    writes = applied.writes
    deltas: Counter[tuple[str, str]] = Counter()
    for old, new in writes.values():
        if old.state is not new.state:
            deltas[new.queue, old.state.value] -= 1
            deltas[new.queue, new.state.value] += 1
    sqlite_history.count(conn, deltas)
    if _write(conn, writes.values()) != len(writes):  # cannot happen under one writer: a fence
        raise LeaseLost("a job changed underneath the writer; nothing was applied")
    sqlite_history.record(conn, applied.events)
    return applied.answers
