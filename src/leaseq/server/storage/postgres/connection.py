"""PostgreSQL connections: the pool, the retry and error mapping around an operation,
pipelined transactions, and the helpers that run a named query and read its rows.

Connections come from a ``psycopg_pool`` pool in autocommit mode: single-statement
operations (claim, reads) need no BEGIN/COMMIT, and the few multi-statement ones run in
``transaction``, which pipelines BEGIN and COMMIT with their statements. Rows are named
tuples (psycopg's ``namedtuple_row``), read by column name.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import psycopg
from psycopg import AsyncConnection, AsyncCursor
from psycopg.pq import TransactionStatus
from psycopg.rows import namedtuple_row
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from leaseq.errors import InvalidRequest, StorageUnavailable
from leaseq.server.storage import migrations, queries

T = TypeVar("T")
Conn = AsyncConnection[Any]
Pool = AsyncConnectionPool[Conn]

Q = queries.load("leaseq.server.storage.postgres")

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

MIGRATION_LOCK = 0x6C65_6173_6571  # "leaseq" in ASCII: the advisory lock key of migrations

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


class Retry(psycopg.errors.SerializationFailure):
    """Raised by an operation to roll back and run again from the start."""


async def open_pool(url: str) -> Pool:
    """Migrates on a connection of its own, then fills the pool. Migrating first means a
    refused connection says why (the pool would only report that it timed out)."""
    try:
        conn = await psycopg.AsyncConnection.connect(url, **CONNECTION_KWARGS)
        async with conn:
            await _migrate(conn)
    except psycopg.Error as exc:
        raise StorageUnavailable(f"cannot open the PostgreSQL database: {exc}") from exc
    pool: Pool = AsyncConnectionPool(
        url,
        kwargs={**CONNECTION_KWARGS, "autocommit": True, "row_factory": namedtuple_row},
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
    return pool


async def run(pool: Pool | None, op: Callable[[Conn], Awaitable[T]]) -> T:
    """Runs ``op`` on a pooled connection and turns driver errors into the domain's:
    the callers above never see psycopg. An ``op`` of several statements opens its own
    ``transaction``, so a rollback makes running it again safe."""
    if pool is None:
        raise StorageUnavailable("the PostgreSQL store is not open")
    for attempt in range(1, RETRIES + 1):
        try:
            async with pool.connection() as conn:
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

    def __init__(self, cursor: AsyncCursor[Any] | None, expected: set[str]) -> None:
        self._cursor = cursor
        self._ids: set[str] | None = None if cursor is not None else set()
        self.expected = expected

    async def ids(self) -> set[str]:
        """Read inside the transaction block, it costs a round trip; after it, none."""
        if self._ids is None:
            assert self._cursor is not None
            self._ids = {row.id for row in await self._cursor.fetchall()}
        return self._ids

    async def refused(self) -> set[str]:
        """The ids the statement was meant to write and did not."""
        return self.expected - await self.ids()


async def first(conn: Conn, query: str, params: Any = None) -> Any:
    """The one row ``query`` always answers."""
    row = await (await conn.execute(query, params)).fetchone()
    assert row is not None, "the query always returns one row"
    return row


async def all_rows(conn: Conn, query: str, params: Any = None) -> list[Any]:
    return await (await conn.execute(query, params)).fetchall()


async def _migrate(conn: AsyncConnection[Any]) -> None:
    """Applies pending migrations in one transaction under an advisory lock: nodes that
    start together queue up on the lock, and each finds the work already done."""
    async with conn.transaction():
        await conn.execute(Q["lock_migrations"], (MIGRATION_LOCK,))
        await conn.execute(Q["migrations_table"])
        applied = {version for (version,) in await all_rows(conn, Q["applied_migrations"])}
        for migration in migrations.load("postgres"):
            if migration.version not in applied:
                await conn.execute(migration.sql)  # several statements: allowed without params
                await conn.execute(Q["record_migration"], (migration.version, migration.name))
