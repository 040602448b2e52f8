"""The SQLite writer's commits and the fsync thread: SQLite's own fsync is off, a durable
write is answered only after an fsync of the write-ahead log that followed its commit, a
lease is answered without waiting for any fsync, and a failed fsync is a 503, not a 2xx.

The database is a real file; ``os.fdatasync`` is wrapped (it still syncs) so the test can
see the fsyncs and hold one back."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from leaseq.errors import StorageUnavailable
from leaseq.storage import sqlite_flush
from leaseq.storage.sqlite_thread import ConnectionThread

FULL, NORMAL = 2, 1


class Recording(sqlite3.Connection):
    """A real connection that notes the ``synchronous`` level each COMMIT ran under."""

    commits: list[int]

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT":
            self.commits.append(super().execute("PRAGMA synchronous").fetchone()[0])
        return super().execute(sql, *args)


class Syncs:
    """Wraps ``os.fdatasync`` in the flusher: counts the log's fsyncs, can hold them back
    (``gate``) or make the next one fail."""

    def __init__(self, wal: Path) -> None:
        self.wal = wal
        self.count = 0
        self.gate = threading.Event()
        self.gate.set()
        self.fail_next = False
        self._real = os.fdatasync

    def __call__(self, fd: int) -> None:
        assert os.fstat(fd).st_ino == os.stat(self.wal).st_ino, "must sync the live log"
        self.gate.wait(10)
        if self.fail_next:
            self.fail_next = False
            raise OSError(5, "Input/output error")
        self._real(fd)
        self.count += 1


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "t.db"


@pytest.fixture
def syncs(db: Path, monkeypatch: pytest.MonkeyPatch) -> Syncs:
    recorder = Syncs(Path(f"{db}-wal"))
    monkeypatch.setattr(sqlite_flush.os, "fdatasync", recorder)
    return recorder


def _thread(db: Path, conns: list[Recording], flush_wal: bool) -> ConnectionThread:
    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False, factory=Recording)
        conn.commits = []
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        conns.append(conn)
        return conn

    return ConnectionThread("test-writer", connect, transactional=True, path=str(db),
                            flush_wal=flush_wal)  # fmt: skip


@pytest.fixture
def writer(db: Path, syncs: Syncs) -> tuple[ConnectionThread, list[Recording]]:
    """A started writer with the fsync thread; each test stops it on its own loop."""
    conns: list[Recording] = []
    thread = _thread(db, conns, flush_wal=True)
    thread.start()
    return thread, conns


def _insert(conn: sqlite3.Connection) -> int:
    return conn.execute("INSERT INTO t VALUES (1)").lastrowid or 0


async def test_durable_writes_wait_for_an_fsync_leases_do_not(writer: Any, syncs: Syncs) -> None:
    thread, conns = writer
    try:
        await thread.run(_insert)
        assert syncs.count == 1
        await thread.run(_insert, durable=False)
        assert syncs.count == 1, "a lease must not cost an fsync"
        assert conns[0].commits == [NORMAL, NORMAL], "SQLite's own fsync is off"
    finally:
        await thread.stop()


async def test_a_lease_is_answered_while_the_fsync_of_its_batch_is_held(
    writer: Any, syncs: Syncs
) -> None:
    """The writer takes a poll and two acks in one batch: the poll's lease commits first
    and is answered at once; the acks are answered only when their fsync completes."""
    thread, _ = writer
    gate, ran = threading.Event(), []

    def blocker(conn: sqlite3.Connection) -> None:
        gate.wait(10)

    def op(name: str) -> Any:
        def run(conn: sqlite3.Connection) -> int:
            ran.append(name)
            return _insert(conn)

        return run

    try:
        first = asyncio.ensure_future(thread.run(blocker, durable=False))
        await asyncio.sleep(0.05)  # the blocker holds the writer; the next three queue up
        syncs.gate.clear()
        acks = [asyncio.ensure_future(thread.run(op("ack"))),
                asyncio.ensure_future(thread.run(op("ack2")))]  # fmt: skip
        poll = asyncio.ensure_future(thread.run(op("poll"), durable=False))
        await asyncio.sleep(0.05)
        gate.set()
        await asyncio.wait_for(asyncio.gather(first, poll), 5)
        await asyncio.sleep(0.1)
        assert ran == ["poll", "ack", "ack2"]
        assert not any(a.done() for a in acks), "an ack was answered before its fsync"
        syncs.gate.set()
        await asyncio.wait_for(asyncio.gather(*acks), 5)
        assert syncs.count == 1, "one fsync answers the whole group"
    finally:
        syncs.gate.set()
        await thread.stop()


async def test_a_failed_fsync_answers_503_and_the_next_one_recovers(
    writer: Any, syncs: Syncs
) -> None:
    thread, _ = writer
    try:
        syncs.fail_next = True
        with pytest.raises(StorageUnavailable, match="could not be synced"):
            await thread.run(_insert)
        assert await thread.run(_insert) > 0
    finally:
        await thread.stop()


async def test_without_flush_wal_sqlite_syncs_each_commit(db: Path, syncs: Syncs) -> None:
    conns: list[Recording] = []
    thread = _thread(db, conns, flush_wal=False)
    thread.start()
    try:
        await thread.run(_insert, durable=False)
        await thread.run(_insert)
    finally:
        await thread.stop()
    assert conns[0].commits == [FULL, FULL] and syncs.count == 0
