"""The embedded default: one SQLite file in WAL mode.

All writes go through one writer thread that groups concurrent operations into one
transaction (see ``sqlite_thread``); reads use a second connection on a reader thread, so
browsing never waits behind writes. Because one thread owns every write and each group is
a ``BEGIN IMMEDIATE`` transaction, a claim is atomic and two claims never overlap.
"""

from __future__ import annotations

import sqlite3
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path

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
from leaseq.errors import LeaseqError
from leaseq.server.config import Durability
from leaseq.server.storage import migrations, sqlite_history
from leaseq.server.storage.base import cursor_seq
from leaseq.server.storage.sqlite_thread import ConnectionThread
from leaseq.server.storage.sqlite_writes import COLUMNS, INSERT, job_values, row_to_job, transition

_READY = (
    "SELECT seq, priority, run_at FROM jobs INDEXED BY jobs_ready"
    " WHERE state = 'QUEUED' AND queue = ? AND run_at <= ?"
    " ORDER BY priority DESC, run_at, seq LIMIT ?"
)


class SQLiteStorage:
    recheck_s: float | None = None

    def __init__(self, path: str, clock: Clock, durability: Durability = Durability.FULL):
        self._path = path
        self._clock = clock
        self._durability = durability
        self._ids = JobIds()
        self._writer = ConnectionThread(
            "leaseq-sqlite-writer", self._connect, transactional=True, path=path,
            soft_commits=durability is Durability.FULL,
        )  # fmt: skip
        self._reader = ConnectionThread(
            "leaseq-sqlite-reader", self._connect, transactional=False, path=path
        )

    def _connect(self) -> sqlite3.Connection:
        if self._path != ":memory:":
            Path(self._path).parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute(f"PRAGMA synchronous = {self._durability.value.upper()}")
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA cache_size = -32000")
        return conn

    async def open(self) -> None:
        self._writer.start()
        await self._writer.run(_migrate)
        self._reader.start()

    async def close(self) -> None:
        await self._writer.stop()
        await self._reader.stop()

    # -- writes ------------------------------------------------------------------------

    async def enqueue(self, specs: Sequence[NewJob]) -> list[tuple[JobRecord, bool]]:
        return await self._writer.run(lambda conn: self._enqueue(conn, specs))

    def _enqueue(
        self, conn: sqlite3.Connection, specs: Sequence[NewJob]
    ) -> list[tuple[JobRecord, bool]]:
        now = self._clock.now_ms()
        out: list[tuple[JobRecord, bool]] = []
        batch_keys: dict[tuple[str, str], JobRecord] = {}  # a key named twice in this batch
        for spec in specs:
            if spec.idempotency_key is not None:
                key = (spec.queue, spec.idempotency_key)
                existing = batch_keys.get(key) or self._by_key(conn, *key)
                if existing is not None:
                    out.append((existing, False))
                    continue
            job = new_job(spec, self._ids.new(now), now)
            if spec.idempotency_key is not None:
                batch_keys[spec.queue, spec.idempotency_key] = job
            out.append((job, True))
        created = [job for job, new in out if new]
        # One executemany: SQLite's loop over the rows, not Python's.
        conn.executemany(INSERT, [job_values(j) for j in created])
        sqlite_history.record(conn, [event_for(Action.ENQUEUED, None, j) for j in created])
        sqlite_history.count(conn, Counter((j.queue, JobState.QUEUED.value) for j in created))
        return out

    @staticmethod
    def _by_key(conn: sqlite3.Connection, queue: str, key: str) -> JobRecord | None:
        row = conn.execute(
            f"SELECT {COLUMNS} FROM jobs WHERE queue = ? AND idempotency_key = ?", (queue, key)
        ).fetchone()
        return None if row is None else row_to_job(row)

    async def claim(
        self, queues: Sequence[str], owner: str, max_jobs: int, lease_ms: int
    ) -> list[JobRecord]:
        # A lease is not durable: lost to a power cut, the job is QUEUED again and is
        # delivered again, which at-least-once allows; so a claim does not wait for fsync.
        return await self._writer.run(
            lambda conn: self._claim(conn, queues, owner, max_jobs, lease_ms), durable=False
        )

    def _claim(
        self, conn: sqlite3.Connection, queues: Sequence[str], owner: str, n: int, lease_ms: int
    ) -> list[JobRecord]:
        now = self._clock.now_ms()
        sqlite_history.touch_worker(conn, owner, now)
        candidates: list[tuple[int, int, int]] = []
        for queue in queues:
            candidates.extend(conn.execute(_READY, (queue, now, n)))
        if not candidates:
            return []
        # Each queue's rows arrive in poll order; merging the per-queue heads keeps the
        # work proportional to n times the number of queues, whatever the store holds.
        candidates.sort(key=lambda c: (-c[1], c[2], c[0]))
        order = {seq: i for i, (seq, _, _) in enumerate(candidates[:n])}
        rows = conn.execute(
            "UPDATE jobs SET state = 'LEASED', attempts = attempts + 1, lease_owner = ?,"
            " lease_token = lower(hex(randomblob(16))), lease_expires_at = ?, updated_at = ?,"
            f" leased_at = ? WHERE seq IN ({', '.join('?' * len(order))})"
            f" RETURNING seq, {COLUMNS}",
            (owner, now + lease_ms, now, now, *order),
        ).fetchall()
        rows.sort(key=lambda r: order[r[0]])
        jobs = [row_to_job(r[1:]) for r in rows]
        sqlite_history.record(conn, [event_for(Action.LEASED, None, j) for j in jobs])
        deltas: Counter[tuple[str, str]] = Counter()
        for job in jobs:
            deltas[job.queue, JobState.QUEUED.value] -= 1
            deltas[job.queue, JobState.LEASED.value] += 1
        sqlite_history.count(conn, deltas)
        return jobs

    async def modify(self, commands: Sequence[Command]) -> list[JobRecord | LeaseqError]:
        return await self._writer.run(lambda conn: self._modify(conn, commands))

    def _modify(
        self, conn: sqlite3.Connection, commands: Sequence[Command]
    ) -> list[JobRecord | LeaseqError]:
        ids = list({c.job_id for c in commands})
        current: dict[str, JobRecord] = {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM jobs WHERE id IN ({', '.join('?' * len(chunk))})", chunk
            )
            current.update((r[0], row_to_job(r)) for r in rows)
        return transition(conn, current, commands, self._clock.now_ms())

    async def expire_leases(self, limit: int) -> list[JobRecord]:
        def op(conn: sqlite3.Connection) -> list[JobRecord]:
            now = self._clock.now_ms()
            rows = conn.execute(
                f"SELECT {COLUMNS} FROM jobs WHERE state = 'LEASED' AND lease_expires_at <= ?"
                " ORDER BY lease_expires_at LIMIT ?",
                (now, limit),
            ).fetchall()
            current = {r[0]: row_to_job(r) for r in rows}
            expiries = [Expire(job_id) for job_id in current]
            return [j for j in transition(conn, current, expiries, now) if isinstance(j, JobRecord)]

        return await self._writer.run(op)

    async def purge(self, finished_before_ms: int, limit: int) -> int:
        def op(conn: sqlite3.Connection) -> int:
            cutoff = self._clock.now_ms() - finished_before_ms
            rows = conn.execute(
                "DELETE FROM jobs WHERE seq IN (SELECT seq FROM jobs INDEXED BY jobs_finished"
                " WHERE state IN ('DONE', 'CANCELLED') AND updated_at < ? LIMIT ?)"
                " RETURNING id, queue, state",
                (cutoff, limit),
            ).fetchall()
            sqlite_history.purge(conn, [r[0] for r in rows], cutoff)
            deltas: Counter[tuple[str, str]] = Counter()
            for _, queue, state in rows:
                deltas[queue, state] -= 1
            sqlite_history.count(conn, deltas)
            return len(rows)

        return await self._writer.run(op)

    # -- reads -------------------------------------------------------------------------

    async def get(self, job_id: str) -> JobRecord | None:
        row = await self._reader.run(
            lambda conn: conn.execute(
                f"SELECT {COLUMNS} FROM jobs WHERE id = ?", (job_id,)
            ).fetchone()
        )
        return None if row is None else row_to_job(row)

    async def dead_ids(self, queue: str, after: str | None, limit: int) -> list[str]:
        def op(conn: sqlite3.Connection) -> list[str]:
            rows = conn.execute(
                "SELECT id FROM jobs WHERE state = 'DEAD' AND queue = ?"
                " AND seq > coalesce((SELECT seq FROM jobs WHERE id = ?), 0)"
                " ORDER BY seq LIMIT ?",
                (queue, after, limit),
            )
            return [r[0] for r in rows]

        return await self._reader.run(op)

    async def list_jobs(
        self, state: JobState | None, queue: str | None, limit: int, cursor: str | None
    ) -> JobListing:
        before = cursor_seq(cursor)
        where = ["1 = 1"]
        params: list[object] = []
        for clause, value in (("state = ?", state), ("queue = ?", queue), ("seq < ?", before)):
            if value is not None:
                where.append(clause)
                params.append(value if clause == "seq < ?" else str(value))
        sql = (
            f"SELECT seq, {COLUMNS} FROM jobs WHERE {' AND '.join(where)} ORDER BY seq DESC LIMIT ?"
        )
        rows = await self._reader.run(
            lambda conn: conn.execute(sql, (*params, limit + 1)).fetchall()
        )
        more = len(rows) > limit
        rows = rows[:limit]
        return JobListing([row_to_job(r[1:]) for r in rows], str(rows[-1][0]) if more else None)

    async def stats(self) -> dict[str, QueueCounts]:
        def op(conn: sqlite3.Connection) -> dict[str, QueueCounts]:
            now = self._clock.now_ms()
            out: dict[str, QueueCounts] = {}
            for queue, state, count in conn.execute("SELECT queue, state, n FROM queue_counts"):
                out.setdefault(queue, QueueCounts()).counts[JobState(state)] = count
            for queue, stats in out.items():
                (oldest,) = conn.execute(
                    "SELECT min(run_at) FROM jobs INDEXED BY jobs_scheduled"
                    " WHERE state = 'QUEUED' AND queue = ?",
                    (queue,),
                ).fetchone()
                if oldest is not None and oldest <= now:
                    stats.oldest_queued_age_s = (now - oldest) / 1000
            return out

        return await self._reader.run(op)

    async def next_ready_in(self, queues: Sequence[str]) -> float | None:
        def op(conn: sqlite3.Connection) -> float | None:
            now = self._clock.now_ms()
            firsts = [
                conn.execute(
                    "SELECT min(run_at) FROM jobs INDEXED BY jobs_scheduled"
                    " WHERE state = 'QUEUED' AND queue = ? AND run_at > ?",
                    (queue, now),
                ).fetchone()[0]
                for queue in queues
            ]
            pending = [f for f in firsts if f is not None]
            return (min(pending) - now) / 1000 if pending else None

        return await self._reader.run(op)

    async def events(self, job_id: str, limit: int, cursor: str | None) -> EventListing:
        after = cursor_seq(cursor)
        return await self._reader.run(
            lambda conn: sqlite_history.events(conn, job_id, limit, after)
        )

    async def workers(self, seen_within_ms: int, limit: int) -> list[WorkerInfo]:
        since = self._clock.now_ms() - seen_within_ms
        return await self._reader.run(lambda conn: sqlite_history.workers(conn, since, limit))

    async def count_workers(self, seen_within_ms: int) -> int:
        since = self._clock.now_ms() - seen_within_ms
        (n,) = await self._reader.run(
            lambda conn: conn.execute(
                "SELECT count(*) FROM workers WHERE last_seen_at >= ?", (since,)
            ).fetchone()
        )
        return int(n)

    async def dead_groups(self, queue: str, groups: int, ids_per_group: int) -> list[DeadGroup]:
        return await self._reader.run(
            lambda conn: sqlite_history.dead_groups(conn, queue, groups, ids_per_group)
        )

    async def ping(self) -> None:
        await self._reader.run(lambda conn: conn.execute("SELECT 1").fetchone())

    def set_wakeup(self, callback: Callable[[list[str]], None]) -> None:
        """Nothing to do: only this process writes the file, and its service notifies
        its own long polls."""


def _migrate(conn: sqlite3.Connection) -> None:
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY,"
        " name TEXT NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )
    (current,) = conn.execute("SELECT coalesce(max(version), 0) FROM schema_migrations").fetchone()
    for migration in migrations.load("sqlite"):
        if migration.version > current:
            for statement in _statements(migration.sql):
                conn.execute(statement)
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)",
                (migration.version, migration.name),
            )


def _statements(script: str) -> list[str]:
    """Splits a migration into complete statements (triggers included), so it runs
    inside the writer's transaction; ``executescript`` would commit it."""
    statements, current = [], ""
    for line in script.splitlines():
        if not current and (not line.strip() or line.lstrip().startswith("--")):
            continue
        current += line + "\n"
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements
