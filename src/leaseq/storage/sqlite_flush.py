"""The SQLite writer's fsync, on a thread of its own.

With the default durability the writer commits with ``synchronous = NORMAL`` (SQLite
writes the log frames but does not fsync them) and hands every group of durable writes
here; this thread fsyncs the write-ahead log and only then answers the group's callers.
While one fsync runs the writer goes on committing, and the next fsync covers every group
committed meanwhile: the disk's latency no longer holds SQLite's write lock, and a lease,
which needs no fsync, never waits behind one.

A 2xx still means on disk: no caller is answered before an fsync that began after its
commit. Readers may see a commit before its fsync, as they see a lease; a power cut can
only undo what no caller was told was done, and a later durable write that built on it
sits after it in the log, so the fsync that answers it covers both.
"""

from __future__ import annotations

import errno
import os
import queue
import threading
from collections.abc import Callable
from typing import Any

from leaseq.errors import StorageFull, StorageReadOnly, StorageUnavailable

Delivery = tuple[Any, Any]  # (the group, its outcomes), opaque here
Deliver = Callable[[Any, Any], None]
_STOP = None


class WalFlusher:
    """``submit`` from the writer thread; each submitted group is delivered after an
    fsync of the log that started after the submit, or with ``StorageUnavailable``."""

    def __init__(self, wal_path: str, deliver: Deliver, failed: Callable[[Any, Exception], Any]):
        self._wal = wal_path
        self._deliver = deliver
        self._failed = failed
        self._fd: int | None = None
        self._queue: queue.SimpleQueue[Delivery | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name="leaseq-sqlite-fsync", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def submit(self, group: Any, outcomes: Any) -> None:
        self._queue.put((group, outcomes))

    def stop(self) -> None:
        """Flushes and delivers what was submitted, then ends the thread."""
        self._queue.put(_STOP)
        self._thread.join()
        if self._fd is not None:
            os.close(self._fd)

    def _main(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            pending = [] if first is _STOP else [first]
            stopping = first is _STOP
            while not stopping:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is _STOP:
                    stopping = True
                else:
                    pending.append(item)
            if not pending:
                continue
            error = self._sync()
            for group, outcomes in pending:
                self._deliver(group, outcomes if error is None else self._failed(group, error))

    def _sync(self) -> Exception | None:
        try:
            self._fd = self._open()
            os.fdatasync(self._fd)
        except OSError as exc:
            message = f"the write-ahead log could not be synced to disk: {exc}"
            if exc.errno == errno.EROFS:
                return StorageReadOnly(message)
            if exc.errno in (errno.ENOSPC, errno.EDQUOT):
                return StorageFull(message)
            return StorageUnavailable(message)
        return None

    def _open(self) -> int:
        """The log's descriptor, opened again if the file was replaced (an fsync of the
        old one would cover nothing written since)."""
        current = os.stat(self._wal).st_ino
        if self._fd is not None:
            if os.fstat(self._fd).st_ino == current:
                return self._fd
            os.close(self._fd)
            self._fd = None
        return os.open(self._wal, os.O_RDONLY)
