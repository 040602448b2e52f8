"""The PostgreSQL backend: several server nodes share one database.

Nodes coordinate only through the database. A claim is one ``UPDATE ... FOR UPDATE SKIP
LOCKED`` statement, so concurrent claims on any node never take the same job; rule-driven
writes lock their rows, apply the pure rule in Python and write guarded on the state and
token they read. Time is the database server's (``clock_timestamp()``), never a node's,
so leases mean the same thing on every node whatever their clocks say; only tests
replace it, with a ``Clock`` whose time every statement then takes as a parameter.
Writes that make jobs ready send a NOTIFY in the same transaction; ``postgres_listen``
turns those into wake-ups of long polls on the other nodes.

Connections come from a ``psycopg_pool`` pool in autocommit mode: single-statement
operations (claim, reads) need no BEGIN/COMMIT, and the few multi-statement ones run in
``postgres_writes.transaction``, which pipelines BEGIN and COMMIT with their statements.
Every write stores its events, worker tallies and count deltas in the same statement as
the job rows, so a claim is one round trip and a modify two.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import psycopg
from psycopg.rows import TupleRow
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from leaseq.core.clock import Clock
from leaseq.core.commands import Command, Expire
from leaseq.core.model import (
    Action,
    DeadGroup,
    EventListing,
    JobIds,
    JobListing,
    JobRecord,
    JobState,
    NewJob,
    QueueCounts,
    WorkerInfo,
)
from leaseq.core.transitions import event_for, new_job
from leaseq.errors import InvalidRequest, LeaseLost, LeaseqError, StorageUnavailable
from leaseq.server.storage import migrations
from leaseq.server.storage import postgres_history as history
from leaseq.server.storage import postgres_sql as sql
from leaseq.server.storage import postgres_writes as w
from leaseq.server.storage.base import cursor_seq
from leaseq.server.storage.postgres_listen import Listener
from leaseq.server.storage.postgres_writes import Conn

T = TypeVar("T")
Wakeup = Callable[[list[str]], None]

POOL_MIN = 2
POOL_MAX = 16
POOL_TIMEOUT_S = 3.0
"""How long an operation waits for a connection before answering StorageUnavailable: a
request must fail fast while the database is away (a 503 within 5 s), not hang."""
RECONNECT_S = 4.0
"""How long the pool retries one lost connection before giving it up. Its retries back
off exponentially (1, 2, 4, 8, 16 s ...), so with the default five minutes a node found
the database back up to half an outage late (26 s after a 35 s outage); given up early,
the pool opens connections on demand again, each time from a short first delay."""
RETRIES = 3
"""Attempts of an operation that PostgreSQL rolled back as a deadlock victim or a
serialisation failure; the rollback makes running it again safe."""

CONNECTION_KWARGS: dict[str, Any] = {
    "connect_timeout": 3,
    "application_name": "leaseq",
    # A node that dies mid-transaction must not hold row locks for long: the server
    # ends its session after 10 s idle in a transaction, and no statement runs longer.
    "options": "-c statement_timeout=10000 -c idle_in_transaction_session_timeout=10000",
    # Notice a silently dead peer (cable pulled, VM paused) within seconds, not hours.
    "keepalives": 1,
    "keepalives_idle": 10,
    "keepalives_interval": 3,
    "keepalives_count": 3,
    "tcp_user_timeout": 10000,
}

LISTEN_KWARGS = {**CONNECTION_KWARGS, "application_name": "leaseq-listen"}
"""The LISTEN connection names itself, so that pg_stat_activity tells it apart from the
pool's: its last query is a probe most of the time, not the LISTEN."""

# psycopg's TransactionRollback is only SQLSTATE 40000 itself, not a base of these.
_ROLLED_BACK = (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected)


class PostgresStorage:
    recheck_s: float | None = 2.0

    def __init__(self, url: str, clock: Clock | None = None) -> None:
        """``clock`` is for tests (a ``FakeClock`` to expire leases without sleeping);
        without one, as in production, every ``now`` is the database server's."""
        self._url = url
        self._clock = clock
        self._ids = JobIds()
        self._pool: AsyncConnectionPool[Conn] | None = None
        self._wakeup: Wakeup | None = None
        self._listener: Listener | None = None

    def set_wakeup(self, callback: Wakeup) -> None:
        self._wakeup = callback
        if self._pool is not None and self._listener is None:
            self._listener = Listener(self._url, LISTEN_KWARGS, callback)
            self._listener.start()

    async def open(self) -> None:
        # Migrate on a connection of its own first: a refused connection then says why
        # (the pool would only report that it timed out).
        try:
            conn = await psycopg.AsyncConnection.connect(self._url, **CONNECTION_KWARGS)
            async with conn:
                await _migrate(conn)
        except psycopg.Error as exc:
            raise StorageUnavailable(f"cannot open the PostgreSQL database: {exc}") from exc
        pool: AsyncConnectionPool[Conn] = AsyncConnectionPool(
            self._url,
            kwargs={**CONNECTION_KWARGS, "autocommit": True},
            min_size=POOL_MIN,
            max_size=POOL_MAX,
            timeout=POOL_TIMEOUT_S,
            reconnect_timeout=RECONNECT_S,
            check=AsyncConnectionPool.check_connection,
            name="leaseq",
            open=False,
        )
        try:
            await pool.open(wait=True, timeout=POOL_TIMEOUT_S)
        except PoolTimeout as exc:
            await pool.close()
            raise StorageUnavailable(f"cannot fill the PostgreSQL pool: {exc}") from exc
        self._pool = pool
        if self._wakeup is not None:
            self._listener = Listener(self._url, LISTEN_KWARGS, self._wakeup)
            self._listener.start()
            await self._listener.wait_listening(POOL_TIMEOUT_S)

    async def close(self) -> None:
        """Operations in flight hold their connection until they finish; the pool closes
        each one as it comes back."""
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def _now(self) -> int | None:
        """The ``now`` parameter of the statements that read the time: NULL means the
        database's clock (``postgres_history.NOW_MS``)."""
        return None if self._clock is None else self._clock.now_ms()

    async def _run(self, op: Callable[[Conn], Awaitable[T]]) -> T:
        """Runs ``op`` on a pooled connection and turns driver errors into the domain's:
        the callers above never see psycopg. An ``op`` of several statements opens its
        own ``postgres_writes.transaction``, so a rollback makes running it again safe."""
        if self._pool is None:
            raise StorageUnavailable("the PostgreSQL store is not open")
        for attempt in range(1, RETRIES + 1):
            try:
                async with self._pool.connection() as conn:
                    return await op(conn)
            except _ROLLED_BACK as exc:
                if attempt == RETRIES:
                    raise StorageUnavailable(f"the database kept rolling back: {exc}") from exc
            except PoolTimeout as exc:
                raise StorageUnavailable(
                    f"no PostgreSQL connection within {POOL_TIMEOUT_S:g}s: {exc}"
                ) from exc
            except psycopg.DataError as exc:
                raise InvalidRequest(f"the database rejected a value: {exc}") from exc
            except psycopg.errors.ReadOnlySqlTransaction as exc:
                raise StorageUnavailable(
                    "the database is read-only (a standby, or default_transaction_read_only"
                    f" is on): writes are refused until it is writable again: {exc}"
                ) from exc
            except psycopg.Error as exc:
                raise StorageUnavailable(f"the database refused the operation: {exc}") from exc
        raise AssertionError("unreachable: the last attempt returns or raises")

    # -- writes ------------------------------------------------------------------------

    async def enqueue(self, specs: Sequence[NewJob]) -> list[tuple[JobRecord, bool]]:
        if not specs:
            return []
        return await self._run(lambda conn: self._enqueue(conn, specs))

    async def _enqueue(self, conn: Conn, specs: Sequence[NewJob]) -> list[tuple[JobRecord, bool]]:
        """Two round trips (BEGIN + now, insert + COMMIT) when no spec has an idempotency
        key; otherwise the keys skipped must be looked up before COMMIT."""
        async with w.transaction(conn):
            (now,) = await w.first(conn, sql.SELECT_NOW, {"now": self._now()})
            jobs, slot = self._new_jobs(specs, now)
            pending = await w.insert(conn, jobs, now)
            existing: dict[tuple[str, str | None], JobRecord] = {}
            if any(j.idempotency_key is not None for j in jobs):
                inserted = await pending.ids()
                existing = await w.existing(conn, [j for j in jobs if j.id not in inserted])
        inserted = await pending.ids()
        if len(inserted) + len(existing) < len(jobs):  # keyless rows are never skipped
            raise AssertionError("the insert skipped a job that has no idempotency key")
        out: list[tuple[JobRecord, bool]] = []
        answered: set[int] = set()
        for index in slot:
            job = jobs[index]
            if job.id in inserted:
                out.append((job, index not in answered))
            else:
                out.append((existing[job.queue, job.idempotency_key], False))
            answered.add(index)
        return out

    def _new_jobs(self, specs: Sequence[NewJob], now: int) -> tuple[list[JobRecord], list[int]]:
        """The jobs to insert (one per idempotency key) and, for each spec, the index of
        the job that answers it."""
        jobs: list[JobRecord] = []
        slot: list[int] = []  # for each spec, the job in ``jobs`` that answers it
        first: dict[tuple[str, str], int] = {}
        for spec in specs:
            if spec.idempotency_key is not None:
                key = (spec.queue, spec.idempotency_key)
                if key in first:
                    slot.append(first[key])
                    continue
                first[key] = len(jobs)
            slot.append(len(jobs))
            jobs.append(new_job(spec, self._ids.new(now), now))
        return jobs, slot

    async def claim(
        self, queues: Sequence[str], owner: str, max_jobs: int, lease_ms: int
    ) -> list[JobRecord]:
        if max_jobs <= 0 or not queues:
            return []
        params = {
            "queues": list(dict.fromkeys(queues)),  # a queue named twice would lock twice
            "n": max_jobs,
            "owner": owner,
            "lease_ms": lease_ms,
            "now": self._now(),
        }

        async def op(conn: Conn) -> list[JobRecord]:
            taken = [r for r in await w.all_rows(conn, sql.CLAIM, params) if r[1] is not None]
            taken.sort(key=lambda r: (-r[7], r[10], r[1]))  # poll order: priority, run_at, seq
            return [w.job_from_row(r[2:]) for r in taken]

        return await self._run(op)

    async def modify(self, commands: Sequence[Command]) -> list[JobRecord | LeaseqError]:
        if not commands:
            return []
        return await self._run(lambda conn: w.modify(conn, commands, self._now()))

    async def expire_leases(self, limit: int) -> list[JobRecord]:
        async def op(conn: Conn) -> list[JobRecord]:
            async with w.transaction(conn):
                rows = await w.all_rows(conn, sql.LOCK_EXPIRED, {"n": limit, "now": self._now()})
                now = rows[0][0] if rows else 0
                jobs = [w.job_from_row(r[1:]) for r in rows]
                pairs = [(job, Expire(job.id).apply(job, now)) for job in jobs]
                events = [
                    event_for(Action.EXPIRED, old, new) for old, new in pairs if new is not old
                ]
                pending = await w.write(conn, pairs, events)
            # Impossible while we held the row locks; kept as a fence. The rows that were
            # written committed with their own events and counts, so the store is whole.
            if lost := await pending.refused():
                raise LeaseLost(f"lease expiry lost a race on jobs {sorted(lost)}")
            return [new for _, new in pairs]

        expired = await self._run(op)
        if len(expired) < limit:  # the reaper's pass is over: fold the count ledger
            await self._compact()
        return expired

    async def purge(self, finished_before_ms: int, limit: int) -> int:
        async def op(conn: Conn) -> int:
            (count,) = await w.first(
                conn, sql.PURGE, {"age": finished_before_ms, "n": limit, "now": self._now()}
            )
            return int(count)

        purged = await self._run(op)
        await self._compact()
        return purged

    async def _compact(self) -> None:
        """Folds the count ledger (``postgres_history.COMPACT``). Called by the reaper's
        calls on every node, each tick, and by ``stats``; a node that finds another at it
        skips, so the ledger stays a few rows per (queue, state) plus a tick of deltas."""

        async def op(conn: Conn) -> None:
            # A read-only database (a standby) cannot fold the ledger, but its sums are
            # still exact: reads such as stats must go on answering.
            with contextlib.suppress(psycopg.errors.ReadOnlySqlTransaction):
                await conn.execute(history.COMPACT)

        await self._run(op)

    # -- reads -------------------------------------------------------------------------

    async def get(self, job_id: str) -> JobRecord | None:
        async def op(conn: Conn) -> TupleRow | None:
            return await (await conn.execute(sql.GET, (job_id,))).fetchone()

        row = await self._run(op)
        return None if row is None else w.job_from_row(row)

    async def dead_ids(self, queue: str, after: str | None, limit: int) -> list[str]:
        async def op(conn: Conn) -> list[TupleRow]:
            return await (await conn.execute(sql.DEAD_IDS, (queue, after, limit))).fetchall()

        return [r[0] for r in await self._run(op)]

    async def list_jobs(
        self, state: JobState | None, queue: str | None, limit: int, cursor: str | None
    ) -> JobListing:
        before = cursor_seq(cursor)
        where = ["TRUE"]
        params: list[object] = []
        for clause, value in (("state = %s", state), ("queue = %s", queue)):
            if value is not None:
                where.append(clause)
                params.append(str(value))
        if before is not None:
            where.append("seq < %s")
            params.append(before)
        query = (
            f"SELECT seq, {sql.COLUMNS} FROM jobs WHERE {' AND '.join(where)}"
            " ORDER BY seq DESC LIMIT %s"
        )

        async def op(conn: Conn) -> list[TupleRow]:
            return await (await conn.execute(query, (*params, limit + 1))).fetchall()

        rows = await self._run(op)
        more = len(rows) > limit
        rows = rows[:limit]
        return JobListing([w.job_from_row(r[1:]) for r in rows], str(rows[-1][0]) if more else None)

    async def stats(self) -> dict[str, QueueCounts]:
        """Sums the count ledger instead of scanning jobs; exact in any snapshot, because
        every write appends its deltas in its own transaction (see ``postgres_history``).
        """
        await self._compact()

        async def op(conn: Conn) -> list[TupleRow]:
            return await (await conn.execute(sql.STATS, {"now": self._now()})).fetchall()

        out: dict[str, QueueCounts] = {}
        for queue, state, count, oldest, now in await self._run(op):
            stats = out.setdefault(queue, QueueCounts())
            stats.counts[JobState(state)] = count
            if oldest is not None and oldest <= now:
                stats.oldest_queued_age_s = (now - oldest) / 1000
        return out

    async def next_ready_in(self, queues: Sequence[str]) -> float | None:
        async def op(conn: Conn) -> TupleRow:
            return await w.first(conn, sql.NEXT_READY, {"queues": list(queues), "now": self._now()})

        (delta,) = await self._run(op)
        return None if delta is None else delta / 1000

    async def events(self, job_id: str, limit: int, cursor: str | None) -> EventListing:
        after = cursor_seq(cursor)
        return await self._run(lambda conn: history.events(conn, job_id, limit, after))

    async def workers(self, seen_within_ms: int, limit: int) -> list[WorkerInfo]:
        return await self._run(
            lambda conn: history.workers(conn, seen_within_ms, limit, self._now())
        )

    async def count_workers(self, seen_within_ms: int) -> int:
        return await self._run(
            lambda conn: history.count_workers(conn, seen_within_ms, self._now())
        )

    async def dead_groups(self, queue: str, groups: int, ids_per_group: int) -> list[DeadGroup]:
        return await self._run(lambda conn: history.dead_groups(conn, queue, groups, ids_per_group))

    async def ping(self) -> None:
        await self._run(lambda conn: w.one(conn, "SELECT 1"))


async def _migrate(conn: Conn) -> None:
    """Applies pending migrations in one transaction under an advisory lock: nodes that
    start together queue up on the lock, and each finds the work already done."""
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (sql.MIGRATION_LOCK,))
        await conn.execute(sql.MIGRATIONS_TABLE)
        (current,) = await w.one(conn, "SELECT coalesce(max(version), 0) FROM schema_migrations")
        for migration in migrations.load("postgres"):
            if migration.version > current:
                await conn.execute(migration.sql)  # several statements: allowed without params
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES (%s, %s)",
                    (migration.version, migration.name),
                )
