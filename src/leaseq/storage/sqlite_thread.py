"""One SQLite connection on a thread of its own, fed from the event loop.

The writer thread is where group commit happens: it takes every operation waiting in its
queue, runs each inside a savepoint of one ``BEGIN IMMEDIATE`` transaction, commits once
(one fsync for the whole group), and only then resolves the callers' futures. So a 2xx
answer always means committed, while the cost of durability is shared by all concurrent
requests. A failing operation rolls back to its savepoint without harming its neighbours.
"""

from __future__ import annotations

import asyncio
import os
import queue
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from leaseq.errors import LeaseqError, StorageFull, StorageReadOnly, StorageUnavailable

T = TypeVar("T")
Op = Callable[[sqlite3.Connection], Any]
_Item = tuple[Op, "asyncio.Future[Any]", asyncio.AbstractEventLoop]
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
        max_batch: int = 512,
    ) -> None:
        self._connect = connect
        self._path = path
        self._transactional = transactional
        self._max_batch = max_batch
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._ready = threading.Event()
        self._startup_error: BaseException | None = None

    def start(self) -> None:
        self._thread.start()
        self._ready.wait()
        if self._startup_error is not None:
            raise StorageUnavailable(f"cannot open the database: {self._startup_error}")

    async def run(self, op: Callable[[sqlite3.Connection], T]) -> T:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._queue.put((op, future, loop))
        return await future

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
        self._ready.set()
        try:
            while (batch := self._next_batch()) is not None:
                outcomes = (
                    self._run_group(conn, batch)
                    if self._transactional
                    else [self._call(conn, op) for op, _, _ in batch]
                )
                _deliver(batch, outcomes)
        finally:
            conn.close()

    def _next_batch(self) -> list[_Item] | None:
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

    def _run_group(self, conn: sqlite3.Connection, batch: list[_Item]) -> list[_Outcome]:
        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            return [(False, storage_error(exc, self._path))] * len(batch)
        outcomes: list[_Outcome] = []
        for op, _, _ in batch:
            try:
                conn.execute("SAVEPOINT op")
                outcome = self._call(conn, op)
                if not outcome[0]:
                    conn.execute("ROLLBACK TO op")
                conn.execute("RELEASE op")
            except sqlite3.Error as exc:
                # The transaction itself is broken (disk full, I/O error): nothing in
                # this group can be committed, so every caller hears so.
                _rollback(conn)
                return [(False, storage_error(exc, self._path))] * len(batch)
            outcomes.append(outcome)
        try:
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            _rollback(conn)
            return [(False, storage_error(exc, self._path))] * len(batch)
        return outcomes

    def _call(self, conn: sqlite3.Connection, op: Op) -> _Outcome:
        try:
            return (True, op(conn))
        except sqlite3.OperationalError as exc:
            return (False, storage_error(exc, self._path))
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


def _deliver(batch: list[_Item], outcomes: list[_Outcome]) -> None:
    # One wake-up of the event loop per group rather than one per operation.
    loop = batch[0][2]
    loop.call_soon_threadsafe(_settle, [item[1] for item in batch], outcomes)


def _settle(futures: list[asyncio.Future[Any]], outcomes: list[_Outcome]) -> None:
    for future, (ok, value) in zip(futures, outcomes, strict=True):
        if future.cancelled():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)
