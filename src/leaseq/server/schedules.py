"""The schedule half of the service (``QueueService.schedules``): the schedule routes and
the reaper's scheduler step call its methods, one each.

It holds the service's own store, notifier and observer (passed in, never exposed), so a
slot's job wakes long polls and counts in the metrics exactly as any enqueue does. The
scheduler's pass (``run``) is a reaper step; every node runs it, and the store's guarded
write makes each slot one job however many do.
"""

from __future__ import annotations

from typing import TypeVar

from leaseq.core.model import Action, JobRecord
from leaseq.core.schedules import ScheduleRecord, ScheduleRun, ScheduleSpec, Taken
from leaseq.errors import ScheduleNotFound
from leaseq.server.notifier import Notifier
from leaseq.server.observe import Observer
from leaseq.server.storage import Storage

T = TypeVar("T")


class Schedules:
    def __init__(self, storage: Storage, notifier: Notifier, observer: Observer) -> None:
        self._storage = storage
        self._notifier = notifier
        self._observer = observer

    async def put(self, spec: ScheduleSpec) -> tuple[ScheduleRecord, bool]:
        return await self._storage.put_schedule(spec)

    async def listing(self) -> list[ScheduleRecord]:
        return await self._storage.list_schedules()

    async def get(self, name: str) -> ScheduleRecord:
        return _found(name, await self._storage.get_schedule(name))

    async def delete(self, name: str) -> ScheduleRecord:
        record = _found(name, await self._storage.delete_schedule(name))
        self._observer.schedule_deleted(name)
        return record

    async def set_paused(self, name: str, paused: bool) -> ScheduleRecord:
        return _found(name, await self._storage.set_schedule_paused(name, paused))

    async def trigger(self, name: str) -> JobRecord:
        job = _found(name, await self._storage.trigger_schedule(name))
        self._notifier.notify([job.queue])
        self._observer.transitioned(Action.ENQUEUED, [job])
        self._observer.schedule_triggered(name)
        return job

    async def runs(self, name: str, limit: int) -> list[ScheduleRun]:
        """The schedule's run history, newest first; 404 for an unknown schedule."""
        runs = await self._storage.schedule_runs(name, limit)
        if not runs:
            await self.get(name)
        return runs

    async def run(self, limit: int) -> list[Taken]:
        """One pass of the scheduler: up to ``limit`` due slots taken."""
        taken = await self._storage.take_due_slots(limit)
        jobs = [t.job for t in taken if t.job is not None]
        self._notifier.notify(job.queue for job in jobs)
        self._observer.transitioned(Action.ENQUEUED, jobs)
        self._observer.slots_taken(taken)
        return taken


def _found(name: str, value: T | None) -> T:
    if value is None:
        raise ScheduleNotFound(f"no schedule named {name!r}")
    return value
