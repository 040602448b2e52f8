"""The statements of PostgreSQL writes and their row mapping, kept apart from the pool and
retry plumbing of ``postgres``. Each function runs on a connection the caller holds,
inside the caller's ``transaction``, and never commits."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import psycopg
from psycopg import AsyncConnection, AsyncCursor
from psycopg.pq import TransactionStatus
from psycopg.rows import TupleRow

from leaseq.core.commands import Command
from leaseq.core.model import EventRecord, JobRecord, JobState
from leaseq.errors import LeaseLost, LeaseqError
from leaseq.server.storage import postgres_history as history
from leaseq.server.storage import postgres_sql as sql
from leaseq.server.storage.base import apply_commands

Conn = AsyncConnection[TupleRow]


class Retry(psycopg.errors.SerializationFailure):
    """Raised by an operation to roll back and run again from the start."""


@contextlib.asynccontextmanager
async def transaction(conn: Conn) -> AsyncIterator[None]:
    """BEGIN ... COMMIT on the pool's autocommit connection in pipeline mode, so neither
    costs a round trip of its own: BEGIN travels with the first statement whose rows the
    block reads, COMMIT with the statements queued after the last read, and the sync that
    ends the pipeline brings back their rows (read them after the block). psycopg's own
    ``conn.transaction()`` waits for BEGIN and for COMMIT separately: two more round trips
    per transaction. If the block or a statement fails, the transaction is rolled back.
    """
    try:
        async with conn.pipeline():
            await conn.execute("BEGIN")
            yield
            await conn.execute("COMMIT")
    except BaseException:
        if conn.info.transaction_status in (TransactionStatus.INTRANS, TransactionStatus.INERROR):
            with contextlib.suppress(psycopg.Error):  # a broken connection: the pool drops it
                await conn.execute("ROLLBACK")
        raise


class Pending:
    """The ids a queued write statement returns, once the transaction's sync brought
    them back; ``expected`` are the ids it was meant to write."""

    def __init__(self, cursor: AsyncCursor[TupleRow] | None, expected: set[str]) -> None:
        self._cursor = cursor
        self._ids: set[str] | None = None if cursor is not None else set()
        self.expected = expected

    async def ids(self) -> set[str]:
        """Read inside the transaction block, it costs a round trip; after it, none."""
        if self._ids is None:
            assert self._cursor is not None
            self._ids = {r[0] for r in await self._cursor.fetchall()}
        return self._ids

    async def refused(self) -> set[str]:
        """The ids the statement was meant to write and did not."""
        return self.expected - await self.ids()


def job_from_row(row: Sequence[Any]) -> JobRecord:
    values = list(row)
    values[4] = JobState(values[4])
    return JobRecord(*values)


async def one(conn: Conn, query: str) -> TupleRow:
    return await first(conn, query, None)


async def first(conn: Conn, query: str, params: Any) -> TupleRow:
    row = await (await conn.execute(query, params)).fetchone()
    assert row is not None, "the query always returns one row"
    return row


async def insert(conn: Conn, jobs: list[JobRecord], now: int) -> Pending:
    """Queues the insert of ``jobs`` in order, skipping those whose idempotency key is
    taken, with the events and count deltas of those inserted. ``ids()`` of the answer
    are the ids inserted."""
    params = {
        "now": now,
        "id": [j.id for j in jobs],
        "queue": [j.queue for j in jobs],
        "task": [j.task for j in jobs],
        "payload": [j.payload for j in jobs],
        "priority": [j.priority for j in jobs],
        "max_tries": [j.max_tries for j in jobs],
        "run_at": [j.run_at for j in jobs],
        "key": [j.idempotency_key for j in jobs],
    }
    return Pending(await conn.execute(sql.INSERT, params), {j.id for j in jobs})


async def existing(conn: Conn, skipped: list[JobRecord]) -> dict[tuple[str, str | None], JobRecord]:
    """The stored jobs that hold the idempotency keys of ``skipped``."""
    if not skipped:
        return {}
    query = (sql.SELECT_BY_KEYS, ([j.queue for j in skipped], [j.idempotency_key for j in skipped]))
    found = {
        (job.queue, job.idempotency_key): job
        for job in map(job_from_row, await all_rows(conn, *query))
    }
    if len(found) < len(skipped):
        # The holder of a key was purged between our insert and this read: run the whole
        # enqueue again, which now inserts a fresh job for that key.
        raise Retry("an idempotency key changed hands during enqueue")
    return found


async def all_rows(conn: Conn, query: str, params: Any) -> list[TupleRow]:
    return await (await conn.execute(query, params)).fetchall()


async def modify(
    conn: Conn, commands: Sequence[Command], clock_ms: int | None
) -> list[JobRecord | LeaseqError]:
    """Locks the jobs, applies the rules in order (a job named twice sees the first
    rule's result, and leaves one event per rule that changed it) and writes each changed
    job once, with its events, tallies and count deltas, in one statement: two round
    trips, BEGIN + lock and write + COMMIT. ``clock_ms`` is an injected clock's time, or
    None for the database's (``postgres_history.NOW_MS``)."""
    async with transaction(conn):
        params = {"ids": list({c.job_id for c in commands}), "now": clock_ms}
        rows = await all_rows(conn, sql.LOCK_BY_IDS, params)
        now = rows[0][0] if rows else 0
        read = {job.id: job for job in (job_from_row(r[1:]) for r in rows)}
        applied = apply_commands(read, commands, now)
        out = applied.answers
        pending = await write(conn, list(applied.writes.values()), applied.events)
    lost = await pending.refused()
    for index, command in enumerate(commands):
        if command.job_id in lost and isinstance(out[index], JobRecord):
            out[index] = LeaseLost(f"lease lost on job {command.job_id}: it changed underneath")
    return out


async def write(
    conn: Conn, pairs: list[tuple[JobRecord, JobRecord]], events: Sequence[EventRecord]
) -> Pending:
    """Queues the write of each ``(read, new)`` pair whose rule changed the job, guarded
    on the state and token it read, in one statement with the events of the jobs written,
    their workers' tallies and their count deltas. ``refused()`` of the answer are the
    ids the guard refused."""
    changed = [(old, new) for old, new in pairs if new is not old]
    if not changed:
        return Pending(None, set())
    params = {
        **history.event_params(events),
        "id": [new.id for _, new in changed],
        "state": [new.state.value for _, new in changed],
        "attempts": [new.attempts for _, new in changed],
        "run_at": [new.run_at for _, new in changed],
        "lease_owner": [new.lease_owner for _, new in changed],
        "lease_token": [new.lease_token for _, new in changed],
        "lease_expires_at": [new.lease_expires_at for _, new in changed],
        "last_error": [new.last_error for _, new in changed],
        "result": [new.result for _, new in changed],
        "updated_at": [new.updated_at for _, new in changed],
        "leased_at": [new.leased_at for _, new in changed],
        "old_state": [old.state.value for old, _ in changed],
        "old_token": [old.lease_token for old, _ in changed],
    }
    return Pending(await conn.execute(sql.WRITE, params), {new.id for _, new in changed})
