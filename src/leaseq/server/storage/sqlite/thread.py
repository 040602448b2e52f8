"""One SQLite connection on a thread of its own, fed from the event loop.

The writer thread is where group commit happens: it takes every operation waiting in its
queue, runs each inside a savepoint of one ``BEGIN IMMEDIATE`` transaction, commits once
(one fsync for the whole group), and only then resolves the callers' futures. So a 2xx
answer always means committed, while the cost of durability is shared by all concurrent
requests. A failing operation rolls back to its savepoint without harming its neighbours.

An operation may be run with ``durable=False`` (a lease: losing it to a power cut only
means the job is delivered again). With ``soft_commits``, a batch's soft operations go
first, in a transaction of their own that commits without its fsync; the next durable
commit fsyncs the write-ahead log, and with it every frame written before, so the order
is never broken.
"""

from __future__ import annotations

import asyncio
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, NamedTuple, TypeVar

from leaseq.errors import LeaseqError, StorageFull, StorageReadOnly, StorageUnavailable

T = TypeVar("T")
Op = Callable[[sqlite3.Connection], Any]


class Item(NamedTuple):
    """One queued operation, the future its caller awaits, and that caller's loop."""

    op: Op
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    durable: bool


_Outcome = tuple[bool, Any]  # (ok, value or exception)

_STOP = None


class ConnectionThread:
    def __init__(
        self,
        name: str,
        connect: Callable[[], sqlite3.Connection],
        *,
        transactional: bool,
        path: str | None = None,
        soft_commits: bool = False,
        max_batch: int = 512,
    ) -> None:
        self._connect = connect
        self._path = path
        self._transactional = transactional
        self._soft_commits = soft_commits
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None
        self._conn: sqlite3.Connection | None = None
        self._busy = threading.Lock()  # held by whoever uses the connection

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise StorageUnavailable(f"cannot open the database: {self._startup_error}")

    async def run(
        self, op: Callable[[sqlite3.Connection], T], *, durable: bool = True, at_once: bool = False
    ) -> T:
        """``op``'s result once it ran (and, if ``durable``, was fsynced). ``at_once``
        (a read, or a write that is not durable: a lease) runs it on the caller's thread
        when the connection is idle: no hand-off to the thread and back."""
        if at_once and (now := self._at_once(op, durable)) is not None:
            ok, value = now
            if not ok:
                raise value
            return value  # type: ignore[no-any-return]
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put(Item(op, future, loop, durable))
        return await future

    def _at_once(self, op: Op, durable: bool) -> _Outcome | None:
        """Runs ``op`` here if nothing waits for the connection; None if it must queue.

        Each hand-off to the thread costs two wake-ups (the thread's, then the event
        loop's for the answer) and a tussle over the GIL. An operation with no fsync in
        it takes tens of microseconds, so the event loop runs it itself when it can; a
        durable write queues, because its fsync must not block the loop (the thread
        overlaps it with the loop's HTTP work, and commits a group together)."""
        if (durable and self._transactional) or self._conn is None or not self._queue.empty():
            return None
        if not self._busy.acquire(blocking=False):
            return None
        try:
            if not self._transactional:
                return call(self._conn, op, self._path)
            (outcome,) = run_group(self._conn, [op], self._soft_commits, self._path)
            return outcome
        finally:
            self._busy.release()

    async def stop(self) -> None:
        """Lets queued operations finish, then closes the connection."""
        if self._thread.is_alive():
            self._queue.put(_STOP)
            await asyncio.to_thread(self._thread.join)

    def _main(self) -> None:
        try:
            conn = self._connect()
        except BaseException as exc:
            self._startup_error = exc
            self._ready.set()
            return
        self._conn = conn
        self._ready.set()
        try:
            while (batch := self._next_batch()) is not None:
                if not self._transactional:
                    with self._busy:
                        outcomes = [call(conn, item.op, self._path) for item in batch]
                    _deliver(batch, outcomes)
                    continue
                for group in groups(batch, self._soft_commits):
                    soft = self._soft_commits and not any(item.durable for item in group)
                    with self._busy:
                        outcomes = run_group(conn, [i.op for i in group], soft, self._path)
                    _deliver(group, outcomes)
        finally:
            with self._busy:
                self._conn = None
                conn.close()

    def _next_batch(self) -> list[Item] | None:
        first = self._queue.get()
        if first is _STOP:
            return None
        batch = [first]
        while len(batch) < self._max_batch:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is _STOP:
                self._queue.put(_STOP)  # finish this batch, stop on the next round
                break
            batch.append(item)
        return batch


def groups(batch: list[Item], soft_commits: bool) -> list[list[Item]]:
    """The soft operations first, in a transaction of their own, so a poll never
    waits for the fsync of the acks that happened to arrive with it. Operations taken
    in one batch were all in flight at once, so any order among them is a valid one."""
    if not soft_commits:
        return [batch]
    soft = [item for item in batch if not item.durable]
    durable = [item for item in batch if item.durable]
    return [group for group in (soft, durable) if group]


def run_group(
    conn: sqlite3.Connection, batch: list[Op], soft: bool, path: str | None
) -> list[_Outcome]:
    """One transaction for the group, each operation in a savepoint of its own; ``soft``
    commits it without its fsync."""
    # SQLite reads the safety level at COMMIT but refuses to change it inside a
    # transaction, so a group of soft writes lowers it around the whole transaction.
    if not soft:
        return _transaction(conn, batch, path)
    try:
        conn.execute("PRAGMA synchronous = NORMAL")
        return _transaction(conn, batch, path)
    finally:
        _restore_full(conn)


def _transaction(conn: sqlite3.Connection, batch: list[Op], path: str | None) -> list[_Outcome]:
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        return [(False, storage_error(exc, path))] * len(batch)
    outcomes: list[_Outcome] = []
    for op in batch:
        try:
            conn.execute("SAVEPOINT op")
            outcome = call(conn, op, path)
            if not outcome[0]:
                conn.execute("ROLLBACK TO op")
            conn.execute("RELEASE op")
        except sqlite3.Error as exc:
            # The transaction itself is broken (disk full, I/O error): nothing in
            # this group can be committed, so every caller hears so.
            _rollback(conn)
            return [(False, storage_error(exc, path))] * len(batch)
        outcomes.append(outcome)
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as exc:
        _rollback(conn)
        return [(False, storage_error(exc, path))] * len(batch)
    return outcomes


def call(conn: sqlite3.Connection, op: Op, path: str | None) -> _Outcome:
    try:
        return (True, op(conn))
    except sqlite3.OperationalError as exc:
        return (False, storage_error(exc, path))
    except Exception as exc:
        return (False, exc)


def storage_error(exc: sqlite3.Error, path: str | None) -> LeaseqError:
    """Names the cause an operator can act on. SQLite reports a write refused by a
    read-only filesystem (EROFS) as a plain "disk I/O error", so on an I/O error the
    database's directory itself is asked whether it can still be written."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    if code == sqlite3.SQLITE_FULL:
        return StorageFull(f"the database disk is full: {exc}")
    if code == sqlite3.SQLITE_READONLY or (code == sqlite3.SQLITE_IOERR and _read_only(path)):
        return StorageReadOnly(f"the database's filesystem refuses writes (read-only): {exc}")
    return StorageUnavailable(f"the database refused the operation: {exc}")


def _restore_full(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("PRAGMA synchronous = FULL")
    except sqlite3.Error:
        _rollback(conn)  # a transaction a failed rollback left open; then try again
        conn.execute("PRAGMA synchronous = FULL")


def _read_only(path: str | None) -> bool:
    if path is None or path == ":memory:":
        return False
    directory = os.path.dirname(os.path.abspath(path))
    try:
        if os.statvfs(directory).f_flag & os.ST_RDONLY:
            return True
        return not os.access(directory, os.W_OK)
    except OSError:
        return False


def _rollback(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass  # already rolled back by SQLite itself


def _deliver(batch: list[Item], outcomes: list[_Outcome]) -> None:
    # One wake-up of the event loop per group rather than one per operation.
    loop = batch[0].loop
    loop.call_soon_threadsafe(settle, [item.future for item in batch], outcomes)


def settle(futures: list[asyncio.Future[Any]], outcomes: list[_Outcome]) -> None:
    for future, (ok, value) in zip(futures, outcomes, strict=True):
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
