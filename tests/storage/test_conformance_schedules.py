"""The storage contract of schedules and unique-while-active jobs (see
``leaseq.server.storage.base``), checked on every backend on the fake clock.

The fixture's clock starts at 1_700_000_000_000 ms, a whole second, so ``every`` slots
fall on it and on every second after.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from leaseq.core.backoff import Backoff
from leaseq.core.clock import FakeClock
from leaseq.core.commands import Ack, Cancel, Fail, Requeue
from leaseq.core.model import IdempotencyScope, JobRecord, JobState, NewJob
from leaseq.core.schedules import (
    Cadence,
    Overlap,
    RunOutcome,
    ScheduleSpec,
    Taken,
    slot_key,
)
from tests.storage.conftest import Store

TEMPLATE = NewJob(payload='{"report":"daily"}', queue="reports", task="report", priority=2)


def every(name: str = "tick", seconds: int = 1, **kw: object) -> ScheduleSpec:
    return ScheduleSpec(name, Cadence(every_ms=seconds * 1000), TEMPLATE, **kw)  # type: ignore[arg-type]


def ms(text: str) -> int:
    return round(datetime.fromisoformat(text).timestamp() * 1000)


async def take(store: Store) -> list[Taken]:
    return await store.storage.take_due_slots(100)


async def test_every_slots_are_taken_once_each_with_the_slot_key(store: Store) -> None:
    t0 = store.clock.now_ms()
    record, created = await store.storage.put_schedule(every())
    assert created and (record.next_run_at, record.since, record.paused) == (t0 + 1000, t0, False)
    assert await take(store) == []
    store.advance(1.2)
    (got,) = await take(store)
    assert (got.name, got.slot_ms, got.skipped, got.at) == ("tick", t0 + 1000, 0, t0 + 1200)
    assert got.job is not None and got.job.idempotency_key == slot_key("tick", t0 + 1000)
    assert (got.job.queue, got.job.task, got.job.priority, got.job.payload, got.job.state) == (
        "reports", "report", 2, TEMPLATE.payload, JobState.QUEUED,
    )  # fmt: skip
    assert await store.storage.get(got.job.id) == got.job
    assert await take(store) == []
    stored = await store.storage.get_schedule("tick")
    assert stored is not None
    assert (stored.last_run_at, stored.last_job_id, stored.next_run_at) == (
        t0 + 1000, got.job.id, t0 + 2000,
    )  # fmt: skip
    store.advance(1)
    assert [t.slot_ms for t in await take(store)] == [t0 + 2000]


async def test_cron_slots_in_a_time_zone(store: Store) -> None:
    store.set_time(ms("2026-06-01T09:58:00+00:00"))
    spec = ScheduleSpec("five", Cadence(cron="*/5 * * * *", timezone="Asia/Kolkata"), TEMPLATE)
    record, _ = await store.storage.put_schedule(spec)
    assert record.next_run_at == ms("2026-06-01T10:00:00+00:00")  # 15:30 in Kolkata
    store.set_time(ms("2026-06-01T10:00:00.300+00:00"))
    (got,) = await take(store)
    assert (got.slot_ms, got.skipped) == (ms("2026-06-01T10:00:00+00:00"), 0)
    store.advance(4 * 60)
    assert await take(store) == []
    store.advance(60)
    assert [t.slot_ms for t in await take(store)] == [ms("2026-06-01T10:05:00+00:00")]


async def test_after_downtime_one_job_and_the_skipped_slots_in_the_history(store: Store) -> None:
    t0 = store.clock.now_ms()
    await store.storage.put_schedule(every())
    store.advance(1)
    await take(store)
    store.advance(10.5)  # no pass for ten slots
    (got,) = await take(store)
    assert (got.slot_ms, got.skipped) == (t0 + 11_000, 9)
    latest, first = await store.storage.schedule_runs("tick", 10)
    assert (latest.slot_ms, latest.skipped, latest.outcome) == (t0 + 11_000, 9, RunOutcome.ENQUEUED)
    assert latest.job_id == (got.job.id if got.job else None) and latest.at == t0 + 11_500
    assert (first.slot_ms, first.skipped) == (t0 + 1000, 0)
    assert len((await store.storage.list_jobs(None, "reports", 100, None)).jobs) == 2


async def test_overlap_skip_while_the_last_job_is_active(store: Store) -> None:
    t0 = store.clock.now_ms()
    await store.storage.put_schedule(every(overlap=Overlap.SKIP))
    store.advance(1)
    (first,) = await take(store)
    assert first.job is not None
    store.advance(1)
    (skipped,) = await take(store)
    assert (skipped.slot_ms, skipped.job) == (t0 + 2000, None)
    (leased,) = await store.storage.claim(["reports"], "w", 1, 60_000)
    store.advance(1)
    (still,) = await take(store)
    assert (still.slot_ms, still.job) == (t0 + 3000, None)  # LEASED is active too
    record = await store.storage.get_schedule("tick")
    assert record is not None and (record.last_run_at, record.last_job_id) == (
        t0 + 3000,
        first.job.id,
    )
    await store.storage.modify([Ack(leased.id, leased.lease_token or "")])
    store.advance(1)
    (again,) = await take(store)
    assert again.job is not None and again.slot_ms == t0 + 4000
    outcomes = [r.outcome for r in await store.storage.schedule_runs("tick", 10)]
    assert outcomes == [RunOutcome.ENQUEUED, RunOutcome.OVERLAP, RunOutcome.OVERLAP,
                        RunOutcome.ENQUEUED]  # fmt: skip


async def test_overlap_allow_enqueues_beside_an_active_job(store: Store) -> None:
    await store.storage.put_schedule(every())
    for _ in range(3):
        store.advance(1)
        (got,) = await take(store)
        assert got.job is not None
    assert len((await store.storage.list_jobs(JobState.QUEUED, "reports", 10, None)).jobs) == 3


async def _slots_walked(store: Store, start: str, hours: int) -> list[int]:
    """The slots taken by a pass every 20 minutes for ``hours`` from ``start``."""
    store.set_time(ms(start))
    spec = ScheduleSpec("nightly", Cadence(cron="30 2 * * *", timezone="Europe/Berlin"), TEMPLATE)
    await store.storage.put_schedule(spec)
    slots: list[int] = []
    for _ in range(hours * 3):
        store.advance(20 * 60)
        slots += [t.slot_ms for t in await take(store) if t.job is not None]
    return slots


async def test_a_daily_0230_in_berlin_runs_once_on_the_spring_change_day(store: Store) -> None:
    slots = await _slots_walked(store, "2026-03-27T12:00:00+00:00", 72)
    assert slots == [ms("2026-03-28T01:30:00+00:00"), ms("2026-03-29T01:00:00+00:00"),
                     ms("2026-03-30T00:30:00+00:00")]  # fmt: skip


async def test_a_daily_0230_in_berlin_runs_once_on_the_autumn_change_day(store: Store) -> None:
    slots = await _slots_walked(store, "2026-10-23T12:00:00+00:00", 72)
    assert slots == [ms("2026-10-24T00:30:00+00:00"), ms("2026-10-25T00:30:00+00:00"),
                     ms("2026-10-26T01:30:00+00:00")]  # fmt: skip


async def test_paused_enqueues_nothing_and_resume_does_not_replay(store: Store) -> None:
    await store.storage.put_schedule(every())
    paused = await store.storage.set_schedule_paused("tick", True)
    assert paused is not None and (paused.paused, paused.next_run_at) == (True, None)
    store.advance(5)
    assert await take(store) == []
    store.advance(0.5)
    resumed = await store.storage.set_schedule_paused("tick", False)
    now = store.clock.now_ms()
    assert resumed is not None and (resumed.paused, resumed.since) == (False, now)
    assert resumed.next_run_at == now - 500 + 1000
    assert await take(store) == []
    store.advance(0.5)
    (got,) = await take(store)
    assert (got.slot_ms, got.skipped) == (now + 500, 0)
    again = await store.storage.set_schedule_paused("tick", False)  # already running
    assert again is not None and again.since == now
    assert await store.storage.set_schedule_paused("nope", True) is None


async def test_a_put_replacing_a_schedule_keeps_history_guard_and_pause(store: Store) -> None:
    t0 = store.clock.now_ms()
    await store.storage.put_schedule(every())
    store.advance(1)
    (got,) = await take(store)
    await store.storage.set_schedule_paused("tick", True)
    store.advance(0.3)
    newer = NewJob(payload='{"v":2}', queue="reports")
    spec = ScheduleSpec("tick", Cadence(every_ms=1000), newer, paused=None)
    record, created = await store.storage.put_schedule(spec)
    assert not created
    assert (record.paused, record.next_run_at, record.job) == (True, None, newer)
    assert (record.last_run_at, record.last_job_id, record.created_at) == (
        t0 + 1000, got.job.id if got.job else None, t0,
    )  # fmt: skip
    assert record.updated_at == t0 + 1300
    assert await store.storage.get_schedule("tick") == record
    assert len(await store.storage.schedule_runs("tick", 10)) == 1
    unpaused, _ = await store.storage.put_schedule(
        ScheduleSpec("tick", Cadence(every_ms=1000), newer, paused=False)
    )
    assert (unpaused.paused, unpaused.since, unpaused.next_run_at) == (False, t0 + 1300, t0 + 2000)
    store.advance(0.7)
    (next_one,) = await take(store)
    assert next_one.job is not None and next_one.job.payload == '{"v":2}'


async def test_a_running_schedule_replaced_keeps_its_due_slot(store: Store) -> None:
    t0 = store.clock.now_ms()
    await store.storage.put_schedule(every())
    store.advance(1.5)  # the slot at t0 + 1 s is due, no pass yet
    record, _ = await store.storage.put_schedule(every(overlap=Overlap.SKIP))
    assert (record.since, record.next_run_at) == (t0, t0 + 1000)
    assert [t.slot_ms for t in await take(store)] == [t0 + 1000]


async def test_trigger_runs_once_outside_the_slots(store: Store) -> None:
    t0 = store.clock.now_ms()
    await store.storage.put_schedule(every(seconds=60))
    job = await store.storage.trigger_schedule("tick")
    assert job is not None and job.state is JobState.QUEUED
    assert (job.idempotency_key or "").startswith("schedule:tick:manual:")
    assert await store.storage.get(job.id) == job
    record = await store.storage.get_schedule("tick")
    assert record is not None
    assert (record.last_job_id, record.last_run_at, record.next_run_at) == (
        job.id,
        None,
        (t0 // 60_000 + 1) * 60_000,
    )
    other = await store.storage.trigger_schedule("tick")
    assert other is not None and other.id != job.id
    (run, _) = await store.storage.schedule_runs("tick", 10)
    assert (run.outcome, run.slot_ms, run.job_id) == (RunOutcome.MANUAL, None, other.id)
    assert await store.storage.trigger_schedule("nope") is None


async def test_list_get_and_delete(store: Store) -> None:
    for name in ("b", "a", "c"):
        await store.storage.put_schedule(every(name))
    assert [s.name for s in await store.storage.list_schedules()] == ["a", "b", "c"]
    store.advance(1)
    await take(store)
    before = await store.storage.get_schedule("b")
    assert await store.storage.delete_schedule("b") == before
    assert await store.storage.get_schedule("b") is None
    assert await store.storage.delete_schedule("b") is None
    assert await store.storage.schedule_runs("b", 10) == []
    assert [s.name for s in await store.storage.list_schedules()] == ["a", "c"]
    assert len((await store.storage.list_jobs(None, "reports", 10, None)).jobs) == 3


async def test_runs_go_with_the_retention_purge(store: Store) -> None:
    await store.storage.put_schedule(every())
    for _ in range(3):
        store.advance(1)
        await take(store)
    store.advance(10)
    await store.storage.purge(5000, 100)
    assert await store.storage.schedule_runs("tick", 10) == []


async def test_two_nodes_racing_for_the_same_slots_take_each_once(store: Store) -> None:
    """Two storage objects on one store, their clocks 0.4 s apart, pass at once for 20
    slots of 3 schedules: each slot has exactly one job and one run."""
    other_clock = FakeClock(store.clock.now_ms() + 400)
    other = store.make(other_clock)
    await other.open()
    try:
        for name in ("a", "b", "c"):
            await store.storage.put_schedule(every(name))
        taken: list[Taken] = []
        for _ in range(20):
            store.advance(1)
            other_clock.advance(1)
            for batch in await asyncio.gather(
                *(s.take_due_slots(2) for s in [store.storage, other] * 3)
            ):
                taken += batch
    finally:
        await other.close()
    slots = [(t.name, t.slot_ms) for t in taken]
    assert len(slots) == len(set(slots)) == 60
    jobs = (await store.storage.list_jobs(None, "reports", 1000, None)).jobs
    assert sorted(j.idempotency_key or "" for j in jobs) == sorted(slot_key(n, s) for n, s in slots)
    for name in ("a", "b", "c"):
        assert len(await store.storage.schedule_runs(name, 100)) == 20


# -- unique while active -------------------------------------------------------------------


def active(payload: str = "{}", key: str = "sync-42") -> NewJob:
    return NewJob(payload, idempotency_key=key, idempotency_scope=IdempotencyScope.ACTIVE)


async def _lease(store: Store) -> JobRecord:
    (job,) = await store.storage.claim(["default"], "w", 1, 60_000)
    return job


async def test_unique_while_active_answers_the_active_job(store: Store) -> None:
    ((first, created),) = await store.storage.enqueue([active("1")])
    assert created and first.idempotency_scope is IdempotencyScope.ACTIVE
    assert await store.storage.get(first.id) == first
    ((again, created),) = await store.storage.enqueue([active("2")])
    assert (again, created) == (first, False)
    leased = await _lease(store)
    ((again, created),) = await store.storage.enqueue([active("3")])
    assert (again.id, again.state, created) == (first.id, JobState.LEASED, False)
    (done,) = await store.storage.modify([Ack(leased.id, leased.lease_token or "")])
    assert isinstance(done, JobRecord) and done.idempotency_key is None
    ((fresh, created),) = await store.storage.enqueue([active("4")])
    assert created and fresh.id != first.id and fresh.idempotency_key == "sync-42"


async def test_unique_while_active_frees_the_key_when_dead_or_cancelled(store: Store) -> None:
    await store.storage.enqueue([active("1")])
    leased = await _lease(store)
    (dead,) = await store.storage.modify(
        [Fail(leased.id, leased.lease_token or "", "boom", False, Backoff(1, 1))]
    )
    assert isinstance(dead, JobRecord) and dead.state is JobState.DEAD
    ((second, created),) = await store.storage.enqueue([active("2")])
    assert created
    (cancelled,) = await store.storage.modify([Cancel(second.id)])
    assert isinstance(cancelled, JobRecord) and cancelled.state is JobState.CANCELLED
    ((third, created),) = await store.storage.enqueue([active("3")])
    assert created and third.id not in (dead.id, second.id)
    (requeued,) = await store.storage.modify([Requeue(dead.id)])  # its key went elsewhere
    assert isinstance(requeued, JobRecord) and requeued.state is JobState.QUEUED
    assert requeued.idempotency_key is None


async def test_stored_scope_keeps_the_key_after_the_job_finished(store: Store) -> None:
    ((first, _),) = await store.storage.enqueue([NewJob("1", idempotency_key="k")])
    leased = await _lease(store)
    await store.storage.modify([Ack(leased.id, leased.lease_token or "")])
    ((again, created),) = await store.storage.enqueue([NewJob("2", idempotency_key="k")])
    assert (again.id, again.state, again.idempotency_key, created) == (
        first.id, JobState.DONE, "k", False,
    )  # fmt: skip
    ((held, created),) = await store.storage.enqueue([active("3", key="k")])
    assert (held.id, created) == (first.id, False)  # a stored holder keeps it from both scopes
