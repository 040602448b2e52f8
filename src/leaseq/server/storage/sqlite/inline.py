"""The SQLite writer on the event loop itself: group commit without a thread hand-off.

``ConnectionThread`` runs the writes on a thread of their own; each request then costs a
wake-up of that thread, a wake-up of the loop for the answer, and the two fighting over
the GIL in between (``benchmarks.per_request`` counted about six voluntary context
switches and 500 µs of server CPU per one-job enqueue). Here an operation is queued, and
the first one of a loop turn schedules a flush at the end of that turn: every request
whose handler reached the store in the same turn shares one ``BEGIN IMMEDIATE``
transaction and one fsync, exactly as the thread's batches do (the same ``run_group``),
and requests that arrive while a commit blocks the loop are read together in the next
turn and commit together in turn. A 2xx still means committed and fsynced: a future is
settled only after its group's ``COMMIT`` returned.

With ``soft_commits`` a turn's soft operations (leases) commit first and their callers
are settled at once; the durable group runs in a callback scheduled after them, so a
poll's answer is written to its socket before the acks that came with it fsync.

The loop blocks for as long as a group takes (an fsync, a batch of a thousand jobs); the
server's event loop and a writer thread shared one GIL anyway, so that time was never
free for other requests.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import Any, TypeVar

from leaseq.errors import StorageUnavailable
from leaseq.server.storage.sqlite.thread import Item, groups, run_group, settle

T = TypeVar("T")


class LoopWriter:
    """The same interface as ``ConnectionThread`` (transactional), on the caller's loop."""

    def __init__(
        self,
        connect: Callable[[], sqlite3.Connection],
        *,
        path: str | None = None,
        soft_commits: bool = False,
        max_batch: int = 512,
    ) -> None:
        self._connect = connect
        self._path = path
        self._soft_commits = soft_commits
        self._max_batch = max_batch
        self._conn: sqlite3.Connection | None = None
        self._pending: list[Item] = []
        self._callbacks = 0  # flushes and durable groups scheduled, not yet run
        self._idle = asyncio.Event()

    def start(self) -> None:
        try:
            self._conn = self._connect()
        except BaseException as exc:
            raise StorageUnavailable(f"cannot open the database: {exc}") from exc

    async def run(self, op: Callable[[sqlite3.Connection], T], *, durable: bool = True) -> T:
        if self._conn is None:
            raise StorageUnavailable("the database is closed")
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._pending.append(Item(op, future, loop, durable))
        if len(self._pending) == 1:
            self._schedule(loop, self._flush)
        return await future

    def read(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Runs a small read at once on the writer's connection, between groups (no
        transaction is open between two callbacks of the loop), without any hand-off."""
        if self._conn is None:
            raise StorageUnavailable("the database is closed")
        return op(self._conn)

    async def stop(self) -> None:
        """Lets queued operations finish, then closes the connection."""
        while self._callbacks:
            self._idle.clear()
            await self._idle.wait()
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def _schedule(self, loop: asyncio.AbstractEventLoop, callback: Callable[[], None]) -> None:
        self._callbacks += 1
        loop.call_soon(self._counted, callback)

    def _counted(self, callback: Callable[[], None]) -> None:
        try:
            callback()
        finally:
            self._callbacks -= 1
            if not self._callbacks:
                self._idle.set()

    def _flush(self) -> None:
        batch, self._pending = self._pending[: self._max_batch], self._pending[self._max_batch :]
        loop = batch[0].loop
        if self._pending:  # past one batch: the rest in the next turn
            self._schedule(loop, self._flush)
        first, *later = groups(batch, self._soft_commits)
        self._commit(first)
        for group in later:
            self._schedule(loop, lambda g=group: self._commit(g))  # type: ignore[misc]

    def _commit(self, group: list[Item]) -> None:
        assert self._conn is not None
        futures: list[asyncio.Future[Any]] = [item.future for item in group]
        try:
            outcomes = run_group(self._conn, group, self._soft_commits, self._path)
        except BaseException as exc:
            unavailable = StorageUnavailable(f"the write did not complete: {exc}")
            settle(futures, [(False, unavailable)] * len(group))
            raise
        settle(futures, outcomes)
