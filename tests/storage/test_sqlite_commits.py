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
