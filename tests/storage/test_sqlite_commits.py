"""The SQLite writer's commits: leases commit without their fsync, in a transaction of
their own, durable writes with it, and the connection always returns to FULL."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from leaseq.server.storage.sqlite.thread import ConnectionThread


class Recording(sqlite3.Connection):
    """A real connection that notes the ``synchronous`` level each COMMIT ran under."""

    commits: list[int]

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT":
            level = super().execute("PRAGMA synchronous").fetchone()[0]
            self.commits.append(level)
        return super().execute(sql, *args)


FULL, NORMAL = 2, 1


def _writer(path: Path, conns: list[Recording], soft_commits: bool) -> ConnectionThread:
    def connect() -> sqlite3.Connection:
        conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False,
                               factory=Recording)  # fmt: skip
        conn.commits = []
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE IF NOT EXISTS t (x INTEGER)")
        conns.append(conn)
        return conn

    return ConnectionThread("test-writer", connect, transactional=True, soft_commits=soft_commits)


@pytest.fixture
async def writer(tmp_path: Path) -> Any:
    conns: list[Recording] = []
    thread = _writer(tmp_path / "t.db", conns, soft_commits=True)
    thread.start()
    yield thread, conns
    await thread.stop()


def _insert(conn: sqlite3.Connection) -> None:
    conn.execute("INSERT INTO t VALUES (1)")


async def test_a_group_of_soft_writes_commits_without_fsync(writer: Any) -> None:
    thread, conns = writer
    await thread.run(_insert, durable=False)
    await thread.run(_insert)
    await thread.run(_insert, durable=False)
    assert conns[0].commits == [NORMAL, FULL, NORMAL]
    level = await thread.run(lambda c: c.execute("PRAGMA synchronous").fetchone()[0])
    assert level == FULL, "the connection must go back to FULL after a soft commit"


async def test_without_soft_commits_every_commit_is_full(tmp_path: Path) -> None:
    conns: list[Recording] = []
    thread = _writer(tmp_path / "t.db", conns, soft_commits=False)
    thread.start()
    try:
        await thread.run(_insert, durable=False)
    finally:
        await thread.stop()
    assert conns[0].commits == [FULL]


async def test_a_batch_runs_its_soft_writes_first_in_their_own_commit(writer: Any) -> None:
    """A poll that arrives with acks does not wait for their fsync: the writer takes
    both in one batch and commits the poll's lease on its own, before them."""
    thread, conns = writer
    gate, ran = threading.Event(), []

    def blocker(conn: sqlite3.Connection) -> None:
        gate.wait(10)

    def op(name: str) -> Callable[[sqlite3.Connection], None]:
        def run(conn: sqlite3.Connection) -> None:
            ran.append(name)
            _insert(conn)

        return run

    first = asyncio.ensure_future(thread.run(blocker))
    await asyncio.sleep(0.05)  # the blocker holds the writer; the next three queue up
    queued = [
        asyncio.ensure_future(thread.run(op("ack"))),
        asyncio.ensure_future(thread.run(op("poll"), durable=False)),
        asyncio.ensure_future(thread.run(op("ack2"))),
    ]
    await asyncio.sleep(0.05)
    gate.set()
    await asyncio.gather(first, *queued)
    assert ran == ["poll", "ack", "ack2"]
    assert conns[0].commits == [FULL, NORMAL, FULL]


def _where(conn: sqlite3.Connection) -> str:
    _insert(conn)
    return threading.current_thread().name


async def test_an_idle_connection_runs_a_lease_on_the_event_loop(writer: Any) -> None:
    """No hand-off for a write without fsync when nothing waits: it runs on the caller's
    thread, commits without fsync, and leaves the connection at FULL."""
    thread, conns = writer
    here = threading.current_thread().name
    assert await thread.run(_where, durable=False, at_once=True) == here
    assert await thread.run(_where, at_once=True) == "test-writer"  # durable: the thread's
    assert conns[0].commits == [NORMAL, FULL]
    level = await thread.run(lambda c: c.execute("PRAGMA synchronous").fetchone()[0])
    assert level == FULL


async def test_a_busy_connection_queues_what_would_run_at_once(writer: Any) -> None:
    thread, conns = writer
    gate = threading.Event()
    first = asyncio.ensure_future(thread.run(lambda conn: gate.wait(10)))
    await asyncio.sleep(0.05)  # the writer holds the connection
    lease = asyncio.ensure_future(thread.run(_where, durable=False, at_once=True))
    await asyncio.sleep(0.05)
    assert not lease.done()  # queued behind the blocker, not run beside it
    gate.set()
    await first
    assert await lease == "test-writer"
    assert conns[0].commits == [FULL, NORMAL]


async def test_a_failed_operation_run_at_once_raises_and_rolls_back(writer: Any) -> None:
    thread, _ = writer

    def bad(conn: sqlite3.Connection) -> None:
        _insert(conn)
        raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        await thread.run(bad, durable=False, at_once=True)
    (count,) = await thread.run(lambda c: c.execute("SELECT count(*) FROM t").fetchone())
    assert count == 0
