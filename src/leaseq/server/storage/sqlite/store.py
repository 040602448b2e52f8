"""The embedded default: one SQLite file in WAL mode.

All writes go through one writer thread that groups concurrent operations into one
transaction (see ``thread``); reads use a second connection on a reader thread, so
browsing never waits behind writes. Because one thread owns every write and each group is
a ``BEGIN IMMEDIATE`` transaction, a claim is atomic and two claims never overlap. The
statements are in ``queries.sql``; ``jobs``, ``events``, ``workers``, ``counts`` and
``dead`` run them on the connection they are given.
"""

from __future__ import annotations

import functools
import sqlite3
from collections import namedtuple
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from leaseq.core import model
from leaseq.core.backoff import Backoff
from leaseq.core.clock import Clock
from leaseq.core.commands import Command
from leaseq.core.queues import QueueChange, QueueInfo, QueueSettings
from leaseq.core.schedules import ScheduleRecord, ScheduleRun, ScheduleSpec, Taken
from leaseq.errors import LeaseqError
from leaseq.server.config import Durability
from leaseq.server.storage import common, migrations, queries
from leaseq.server.storage.base import DEFAULT_MAX_BYTES, Claimed
from leaseq.server.storage.sqlite import counts, dead, events, jobs, schedules, workers
from leaseq.server.storage.sqlite import queues as queues_
from leaseq.server.storage.sqlite.thread import ConnectionThread

Q = queries.load("leaseq.server.storage.sqlite")


class SQLiteStorage:
    recheck_s: float | None = None

    def __init__(self, path: str, clock: Clock, durability: Durability = Durability.FULL):
        self._path = path
        self._clock = clock
        self._durability = durability
        self._ids = model.JobIds()
        self._wakeup: Callable[[list[str]], None] | None = None
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
        conn.row_factory = _named_rows()
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

    async def enqueue(self, specs: Sequence[model.NewJob]) -> list[tuple[model.JobRecord, bool]]:
        return await self._writer.run(
            lambda conn: jobs.enqueue(conn, specs, self._ids, self._clock.now_ms())
        )

    async def claim(
        self,
        queues: Sequence[str],
        owner: str,
        max_jobs: int,
        lease_ms: int,
        max_bytes: int = DEFAULT_MAX_BYTES,
        *,
        concurrency: int | None = None,
    ) -> Claimed:
        # A lease is not durable: lost to a power cut, the job is QUEUED again and is
        # delivered again, which at-least-once allows; so a claim does not wait for fsync.
        # (Nor does the rate window's log of lease times: a lease forgotten by a power
        # cut is a lease that, as far as the window can tell, never happened.)
        return await self._writer.run(
            lambda conn: jobs.claim(
                conn, queues, owner, max_jobs, lease_ms, self._now(), max_bytes, concurrency
            ),
            durable=False,
            at_once=True,
        )

    async def modify(self, commands: Sequence[Command]) -> list[model.JobRecord | LeaseqError]:
        answers, freed = await self._writer.run(
            lambda conn: jobs.modify(conn, commands, self._now())
        )
        self._wake(freed)
        return answers

    async def expire_leases(
        self, limit: int, backoff: Backoff | None = None
    ) -> list[model.JobRecord]:
        retry = backoff or Backoff()
        expired, freed = await self._writer.run(
            lambda conn: jobs.expire(conn, limit, self._now(), retry)
        )
        self._wake(freed)
        return expired

    async def update_queue(self, name: str, change: QueueChange) -> QueueSettings:
        before, after = await self._writer.run(
            lambda conn: queues_.update(conn, name, change, self._now())
        )
        if change.frees_slots(before):
            self._wake([name])
        return after

    async def purge(self, finished_before_ms: int, limit: int) -> int:
        def purge(conn: sqlite3.Connection) -> int:
            cutoff = self._now() - finished_before_ms
            schedules.purge_runs(conn, cutoff, limit)
            return jobs.purge(conn, cutoff, limit)

        return await self._writer.run(purge)

    # -- reads -------------------------------------------------------------------------

    async def get(self, job_id: str) -> model.JobRecord | None:
        return await self._reader.run(lambda conn: jobs.get(conn, job_id), at_once=True)

    async def dead_ids(self, queue: str, after: str | None, limit: int) -> list[str]:
        return await self._reader.run(lambda conn: dead.ids(conn, queue, after, limit))

    async def list_jobs(
        self,
        state: model.JobState | None,
        queue: str | None,
        limit: int,
        cursor: str | None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        match: model.JobFilter | None = None,
    ) -> model.JobListing:
        now = self._now()
        return await self._reader.run(
            lambda conn: jobs.list_jobs(conn, state, queue, limit, cursor, max_bytes, match, now)
        )

    async def stats(self) -> dict[str, model.QueueCounts]:
        return await self._reader.run(lambda conn: counts.stats(conn, self._now()))

    async def next_ready_in(self, queues: Sequence[str]) -> float | None:
        return await self._reader.run(
            lambda conn: jobs.next_ready_in(conn, queues, self._now()), at_once=True
        )

    async def events(
        self, job_id: str, limit: int, cursor: str | None, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> model.EventListing:
        return await self._reader.run(
            lambda conn: events.page(conn, job_id, limit, cursor, max_bytes)
        )

    async def workers(self, seen_within_ms: int, limit: int) -> list[model.WorkerInfo]:
        since = self._now() - seen_within_ms
        return await self._reader.run(lambda conn: workers.seen(conn, since, limit))

    async def count_workers(self, seen_within_ms: int) -> int:
        since = self._now() - seen_within_ms
        return await self._reader.run(lambda conn: workers.count(conn, since))

    async def dead_groups(
        self, queue: str, groups: int, ids_per_group: int
    ) -> list[model.DeadGroup]:
        return await self._reader.run(lambda conn: dead.groups(conn, queue, groups, ids_per_group))

    async def queue_settings(self, names: Sequence[str] | None) -> dict[str, QueueSettings]:
        return await self._reader.run(lambda conn: queues_.settings(conn, names))

    async def queues(self) -> list[QueueInfo]:
        settings = await self._reader.run(lambda conn: queues_.settings(conn, None))
        return common.queue_infos(settings, await self.stats())

    async def ping(self) -> None:
        await self._reader.run(lambda conn: conn.execute(Q["ping"]).fetchone(), at_once=True)

    def set_wakeup(self, callback: Callable[[list[str]], None]) -> None:
        """Only this process writes the file, and its service notifies its own long polls
        of the jobs it made ready; the store itself only announces the slots that writes
        free in limited queues, which the service cannot see."""
        self._wakeup = callback

    def set_finished(self, callback: Callable[[list[str]], None]) -> None:
        """Never called: only this process writes the file, and its service sees every
        job that finishes."""

    def _wake(self, queues: list[str]) -> None:
        if queues and self._wakeup is not None:
            self._wakeup(queues)

    def _now(self) -> int:
        return self._clock.now_ms()

    # -- schedules ---------------------------------------------------------------------

    async def put_schedule(self, spec: ScheduleSpec) -> tuple[ScheduleRecord, bool]:
        return await self._writer.run(lambda conn: schedules.put(conn, spec, self._now()))

    async def get_schedule(self, name: str) -> ScheduleRecord | None:
        return await self._reader.run(lambda conn: schedules.get(conn, name))

    async def list_schedules(self) -> list[ScheduleRecord]:
        return await self._reader.run(schedules.listing)

    async def delete_schedule(self, name: str) -> ScheduleRecord | None:
        return await self._writer.run(lambda conn: schedules.delete(conn, name))

    async def set_schedule_paused(self, name: str, paused: bool) -> ScheduleRecord | None:
        return await self._writer.run(
            lambda conn: schedules.set_paused(conn, name, paused, self._now())
        )

    async def trigger_schedule(self, name: str) -> model.JobRecord | None:
        return await self._writer.run(
            lambda conn: schedules.trigger(conn, name, self._ids, self._now())
        )

    async def take_due_slots(self, limit: int) -> list[Taken]:
        # The reader answers the usual pass (nothing due) without queueing on the writer.
        if not await self._reader.run(lambda conn: schedules.any_due(conn, self._now())):
            return []
        return await self._writer.run(
            lambda conn: schedules.take(conn, limit, self._ids, self._now())
        )

    async def schedule_runs(self, name: str, limit: int) -> list[ScheduleRun]:
        return await self._reader.run(lambda conn: schedules.runs(conn, name, limit))


def _named_rows() -> Callable[[sqlite3.Cursor, tuple[Any, ...]], Any]:
    """A row factory making named tuples, as psycopg's ``namedtuple_row`` does. The class
    is looked up once per statement run (a cursor's ``description`` is one object for
    all of the run's rows) and made once per set of columns. Columns that are not
    identifiers, such as ``count(*)``, get positional names."""
    description: Any = None
    build: Callable[[tuple[Any, ...]], Any] = tuple

    def make(cursor: sqlite3.Cursor, row: tuple[Any, ...]) -> Any:
        nonlocal description, build
        if cursor.description is not description:
            description = cursor.description
            build = _row_class(tuple(column[0] for column in description))._make
        return build(row)

    return make


@functools.lru_cache(maxsize=256)
def _row_class(names: tuple[str, ...]) -> Any:
    return namedtuple("Row", names, rename=True)


def _migrate(conn: sqlite3.Connection) -> None:
    conn.execute(Q["migrations_table"])
    applied = {version for (version,) in conn.execute(Q["applied_migrations"])}
    for migration in migrations.load("sqlite"):
        if migration.version not in applied:
            for statement in _statements(migration.sql):
                conn.execute(statement)
            conn.execute(Q["record_migration"], (migration.version, migration.name))


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
