"""The PostgreSQL backend: several server nodes share one database.

Nodes coordinate only through the database. A claim is one ``UPDATE ... FOR UPDATE SKIP
LOCKED`` statement, so concurrent claims on any node never take the same job; command
writes lock their rows, apply the commands in Python and write guarded on the state and
token they read. Time is the database server's (``clock_timestamp()``), never a node's,
so leases mean the same thing on every node whatever their clocks say; only tests
replace it, with a ``Clock`` whose time every statement then takes as a parameter.
Writes that make jobs ready send a NOTIFY in the same transaction; ``listen`` turns those
into wake-ups of long polls on the other nodes.

The statements are in ``queries.sql``; ``jobs``, ``events``, ``workers``, ``counts`` and
``dead`` run them on a pooled connection (``connection``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

from leaseq.core import model
from leaseq.core import queues as model_queues
from leaseq.core.backoff import Backoff
from leaseq.core.clock import Clock
from leaseq.core.commands import Command
from leaseq.core.queues import QueueChange, QueueSettings
from leaseq.core.schedules import ScheduleRecord, ScheduleRun, ScheduleSpec, Taken
from leaseq.errors import LeaseqError
from leaseq.server.storage import common, queries
from leaseq.server.storage.base import DEFAULT_MAX_BYTES, Claimed
from leaseq.server.storage.postgres import counts, dead, events, jobs, schedules, workers
from leaseq.server.storage.postgres import queues as queues_
from leaseq.server.storage.postgres.connection import (
    LISTEN_KWARGS,
    POOL_TIMEOUT_S,
    Conn,
    Pool,
    first,
    open_pool,
    run,
)
from leaseq.server.storage.postgres.listen import Listener

T = TypeVar("T")
Wakeup = Callable[[list[str]], None]

Q = queries.load("leaseq.server.storage.postgres")


class PostgresStorage:
    recheck_s: float | None = 2.0

    def __init__(self, url: str, clock: Clock | None = None) -> None:
        """``clock`` is for tests (a ``FakeClock`` to expire leases without sleeping);
        without one, as in production, every ``now`` is the database server's."""
        self._url = url
        self._clock = clock
        self._ids = model.JobIds()
        self._pool: Pool | None = None
        self._wakeup: Wakeup | None = None
        self._finished: Wakeup | None = None
        self._listener: Listener | None = None
        self._limited: set[str] = set()
        """Queues this node last found limited: their claims go straight to the limited
        statement (``jobs.claim``). A guess only, never trusted for the limits."""

    def set_wakeup(self, callback: Wakeup) -> None:
        self._wakeup = callback
        if self._pool is not None and self._listener is None:
            self._listener = Listener(self._url, LISTEN_KWARGS, callback, self._finished)
            self._listener.start()

    def set_finished(self, callback: Wakeup) -> None:
        """The listener hands it the ids of each ``finished_channel`` NOTIFY."""
        self._finished = callback

    async def open(self) -> None:
        self._pool = await open_pool(self._url)
        if self._wakeup is not None:
            self._listener = Listener(self._url, LISTEN_KWARGS, self._wakeup, self._finished)
            self._listener.start()
            await self._listener.wait_listening(POOL_TIMEOUT_S)

    async def close(self) -> None:
        """Operations in flight hold their connection until they finish; the pool closes
        each one as it comes back."""
        if self._listener is not None:
            await self._listener.stop()
            self._listener = None
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    def _now(self) -> int | None:
        """The ``now`` parameter of the statements that read the time: NULL means the
        database's clock (``now_ms`` in ``queries.sql``)."""
        return None if self._clock is None else self._clock.now_ms()

    async def _run(self, op: Callable[[Conn], Awaitable[T]]) -> T:
        return await run(self._pool, op)

    # -- writes ------------------------------------------------------------------------

    async def enqueue(self, specs: Sequence[model.NewJob]) -> list[tuple[model.JobRecord, bool]]:
        if not specs:
            return []
        return await self._run(lambda conn: jobs.enqueue(conn, specs, self._ids, self._now()))

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
        if max_jobs <= 0 or not queues:
            return Claimed()
        params = {
            "queues": list(dict.fromkeys(queues)),  # a queue named twice would lock twice
            "n": max_jobs,
            "owner": owner,
            "lease_ms": lease_ms,
            "max_bytes": max_bytes,
            "now": self._now(),
            "concurrency": concurrency,
        }
        return await self._run(lambda conn: jobs.claim(conn, params, self._limited))

    async def update_queue(self, name: str, change: QueueChange) -> QueueSettings:
        before, after = await self._run(
            lambda conn: queues_.update(conn, name, change, self._now())
        )
        # Its NOTIFY wakes every node; this node's polls need not wait for it to come back.
        if self._wakeup is not None and change.frees_slots(before):
            self._wakeup([name])
        return after

    async def modify(self, commands: Sequence[Command]) -> list[model.JobRecord | LeaseqError]:
        if not commands:
            return []
        return await self._run(lambda conn: jobs.modify(conn, commands, self._now()))

    async def expire_leases(
        self, limit: int, backoff: Backoff | None = None
    ) -> list[model.JobRecord]:
        retry = backoff or Backoff()
        expired = await self._run(lambda conn: jobs.expire(conn, limit, self._now(), retry))
        if len(expired) < limit:  # the reaper's pass is over: fold the count ledger
            await self._run(counts.compact)
        return expired

    async def purge(self, finished_before_ms: int, limit: int) -> int:
        purged = await self._run(
            lambda conn: jobs.purge(conn, finished_before_ms, limit, self._now())
        )
        await self._run(
            lambda conn: schedules.purge_runs(conn, finished_before_ms, limit, self._now())
        )
        # The reaper's calls on every node compact each tick, and so does ``stats``; a
        # node that finds another at it skips, so the ledger stays a few rows per
        # (queue, state) plus a tick of deltas.
        await self._run(counts.compact)
        return purged

    # -- reads -------------------------------------------------------------------------

    async def get(self, job_id: str) -> model.JobRecord | None:
        return await self._run(lambda conn: jobs.get(conn, job_id))

    async def dead_ids(self, queue: str, after: str | None, limit: int) -> list[str]:
        return await self._run(lambda conn: dead.ids(conn, queue, after, limit))

    async def list_jobs(
        self,
        state: model.JobState | None,
        queue: str | None,
        limit: int,
        cursor: str | None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        match: model.JobFilter | None = None,
    ) -> model.JobListing:
        query, params = jobs.listing(state, queue, limit, cursor, max_bytes, match, self._now())
        return await self._run(lambda conn: jobs.list_jobs(conn, query, params))

    async def stats(self) -> dict[str, model.QueueCounts]:
        await self._run(counts.compact)
        return await self._run(lambda conn: counts.stats(conn, self._now()))

    async def next_ready_in(self, queues: Sequence[str]) -> float | None:
        return await self._run(lambda conn: counts.next_ready_in(conn, queues, self._now()))

    async def events(
        self, job_id: str, limit: int, cursor: str | None, max_bytes: int = DEFAULT_MAX_BYTES
    ) -> model.EventListing:
        return await self._run(lambda conn: events.page(conn, job_id, limit, cursor, max_bytes))

    async def workers(self, seen_within_ms: int, limit: int) -> list[model.WorkerInfo]:
        return await self._run(lambda conn: workers.seen(conn, seen_within_ms, limit, self._now()))

    async def count_workers(self, seen_within_ms: int) -> int:
        return await self._run(lambda conn: workers.count(conn, seen_within_ms, self._now()))

    async def dead_groups(
        self, queue: str, groups: int, ids_per_group: int
    ) -> list[model.DeadGroup]:
        return await self._run(lambda conn: dead.groups(conn, queue, groups, ids_per_group))

    async def queue_settings(self, names: Sequence[str] | None) -> dict[str, QueueSettings]:
        return await self._run(lambda conn: queues_.settings(conn, names))

    async def queues(self) -> list[model_queues.QueueInfo]:
        settings = await self.queue_settings(None)
        return common.queue_infos(settings, await self.stats())

    async def ping(self) -> None:
        await self._run(lambda conn: first(conn, Q["ping"]))

    # -- schedules ---------------------------------------------------------------------

    async def put_schedule(self, spec: ScheduleSpec) -> tuple[ScheduleRecord, bool]:
        return await self._run(lambda conn: schedules.put(conn, spec, self._now()))

    async def get_schedule(self, name: str) -> ScheduleRecord | None:
        return await self._run(lambda conn: schedules.get(conn, name))

    async def list_schedules(self) -> list[ScheduleRecord]:
        return await self._run(schedules.listing)

    async def delete_schedule(self, name: str) -> ScheduleRecord | None:
        return await self._run(lambda conn: schedules.delete(conn, name))

    async def set_schedule_paused(self, name: str, paused: bool) -> ScheduleRecord | None:
        return await self._run(lambda conn: schedules.set_paused(conn, name, paused, self._now()))

    async def trigger_schedule(self, name: str) -> model.JobRecord | None:
        return await self._run(lambda conn: schedules.trigger(conn, name, self._ids, self._now()))

    async def take_due_slots(self, limit: int) -> list[Taken]:
        # One autocommit probe answers the usual pass (nothing due) without a transaction.
        if not await self._run(lambda conn: schedules.any_due(conn, self._now())):
            return []
        return await self._run(lambda conn: schedules.take(conn, limit, self._ids, self._now()))

    async def schedule_runs(self, name: str, limit: int) -> list[ScheduleRun]:
        return await self._run(lambda conn: schedules.runs(conn, name, limit))
