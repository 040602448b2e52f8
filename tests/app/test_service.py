"""``QueueService`` without HTTP: what wakes a long poll, what a poll does when its
caller is gone, and requeueing a whole queue. SQLite in ``tmp_path``, on a ``FakeClock``
so that readiness moves only when a test says so.

Each wake-up test waits 10 s in the poll and allows it 2 s: a poll that is not woken
fails the test instead of passing late.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Sequence

import pytest

from leaseq.core.commands import Ack
from leaseq.core.model import JobRecord, JobState, NewJob
from leaseq.core.queues import QueueChange, QueueInfo, QueueSettings
from leaseq.core.schedules import Cadence, Overlap, ScheduleSpec
from leaseq.errors import ScheduleNotFound
from leaseq.server import service as service_module
from leaseq.server.reaper import Reaper
from leaseq.server.service import QueueService
from tests.app.conftest import Service

WAIT_S = 10.0
WOKEN_WITHIN_S = 2.0


async def _enqueue(service: QueueService, queue: str = "q", **kw: object) -> JobRecord:
    ((job, new),) = await service.enqueue([NewJob(payload='"x"', queue=queue, **kw)])  # type: ignore[arg-type]
    assert new
    return job


async def _waiting_poll(
    svc: Service,
    worker: str,
    queues: Sequence[str] = ("q",),
    gone: asyncio.Future[None] | None = None,
) -> asyncio.Task[list[JobRecord]]:
    """A long poll that has claimed nothing and is now waiting on ``queues``."""
    task = asyncio.create_task(svc.service.poll(worker, queues, 1, None, WAIT_S, gone))
    for _ in range(500):
        if all(q in svc.notifier._waiters for q in queues):
            return task
        assert not task.done(), task.result()
        await asyncio.sleep(0.005)
    raise AssertionError("the poll never started waiting")


async def _woken(task: asyncio.Task[list[JobRecord]]) -> list[JobRecord]:
    return await asyncio.wait_for(task, WOKEN_WITHIN_S)


async def test_an_enqueue_wakes_a_waiting_poll(svc: Service) -> None:
    poll = await _waiting_poll(svc, "w")
    job = await _enqueue(svc.service)
    (leased,) = await _woken(poll)
    assert (leased.id, leased.state, leased.lease_owner) == (job.id, JobState.LEASED, "w")


async def test_an_enqueue_elsewhere_does_not_wake_it(svc: Service) -> None:
    poll = await _waiting_poll(svc, "w")
    await _enqueue(svc.service, queue="other")
    await asyncio.sleep(0.2)
    assert not poll.done()
    poll.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await poll


async def test_a_retry_wakes_a_waiting_poll_to_wait_for_its_backoff(svc: Service) -> None:
    """The job was LEASED when the poll began to wait, so nothing told it when to look
    again: the fail must, or the retry would sit until the poll's wait ran out."""
    await _enqueue(svc.service)
    (first,) = await svc.service.poll("w1", ["q"])
    poll = await _waiting_poll(svc, "w2")
    failed = await svc.service.fail(first.id, first.lease_token or "", "boom", retry=True)
    assert failed.state is JobState.QUEUED
    svc.clock.advance(5)  # past any backoff of these settings (retry_cap = 2 s)
    (again,) = await _woken(poll)
    assert (again.id, again.attempts, again.lease_owner) == (first.id, 2, "w2")


async def test_a_release_wakes_a_waiting_poll(svc: Service) -> None:
    await _enqueue(svc.service)
    (first,) = await svc.service.poll("w1", ["q"])
    poll = await _waiting_poll(svc, "w2")
    await svc.service.release(first.id, first.lease_token or "")
    (again,) = await _woken(poll)
    assert (again.id, again.attempts, again.lease_owner) == (first.id, 1, "w2")


async def test_an_expired_lease_wakes_a_waiting_poll(svc: Service) -> None:
    await _enqueue(svc.service)
    (first,) = await svc.service.poll("w1", ["q"], lease_seconds=1)
    poll = await _waiting_poll(svc, "w2")
    svc.clock.advance(2)
    assert [j.id for j in await svc.service.expire_leases(100)] == [first.id]
    (again,) = await _woken(poll)
    assert (again.id, again.attempts, again.last_error) == (first.id, 2, "lease expired")


async def test_a_poll_whose_caller_is_gone_stops_waiting(svc: Service) -> None:
    gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    poll = await _waiting_poll(svc, "w", gone=gone)
    gone.set_result(None)
    assert await _woken(poll) == []


async def test_a_job_leased_for_a_caller_that_is_gone_is_released_at_once(svc: Service) -> None:
    """The enqueue wakes the poll, which leases the job; by then its caller has hung up,
    so the job goes back at once, the attempt not counted, for the next worker."""
    gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    poll = await _waiting_poll(svc, "gone", gone=gone)
    job = await _enqueue(svc.service)
    gone.set_result(None)  # before the woken poll runs again
    assert await _woken(poll) == []
    back = await svc.service.get(job.id)
    assert (back.state, back.attempts, back.lease_owner) == (JobState.QUEUED, 0, None)
    kinds = [e.kind for e in (await svc.service.events(job.id, 10, None)).events]
    assert kinds == ["enqueued", "leased", "released"]
    (leased,) = await svc.service.poll("here", ["q"])
    assert (leased.id, leased.attempts, leased.lease_owner) == (job.id, 1, "here")


async def test_requeue_of_a_whole_queue_walks_it_in_chunks(
    svc: Service, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_module, "REQUEUE_CHUNK", 3)
    service = svc.service
    for queue in ["q"] * 7 + ["other"]:
        await _enqueue(service, queue=queue, max_tries=1)
        (job,) = await service.poll("w", [queue])
        assert (await service.fail(job.id, job.lease_token or "", "x", True)).state is JobState.DEAD
    chunks: list[int] = []
    dead_ids = svc.storage.dead_ids

    async def counted(queue: str, after: str | None, limit: int) -> list[str]:
        ids = await dead_ids(queue, after, limit)
        assert limit == 3
        chunks.append(len(ids))
        return ids

    monkeypatch.setattr(svc.storage, "dead_ids", counted)
    assert await service.requeue_dead(None, "q") == 7
    assert chunks == [3, 3, 1, 0]
    requeued = (await service.list_jobs(None, "q", 100, None)).jobs
    assert {(j.state, j.attempts) for j in requeued} == {(JobState.QUEUED, 0)}
    assert len(requeued) == 7
    (other,) = (await service.list_jobs(None, "other", 100, None)).jobs
    assert other.state is JobState.DEAD


# -- schedules -----------------------------------------------------------------------------


def _every(name: str = "tick", **kw: object) -> ScheduleSpec:
    job = NewJob(payload='"x"', queue="q")
    return ScheduleSpec(name, Cadence(every_ms=1000), job, **kw)  # type: ignore[arg-type]


async def test_a_slots_job_wakes_a_waiting_poll(svc: Service) -> None:
    await svc.service.schedules.put(_every())
    poll = await _waiting_poll(svc, "w")
    svc.clock.advance(1)
    (taken,) = await svc.service.schedules.run(100)
    (leased,) = await _woken(poll)
    assert taken.job is not None and leased.id == taken.job.id


async def test_the_reaper_pass_takes_due_slots(svc: Service) -> None:
    await svc.service.schedules.put(_every())
    svc.clock.advance(1)
    await Reaper(svc.service).run_once()
    (job,) = (await svc.service.list_jobs(None, "q", 10, None)).jobs
    assert (job.idempotency_key or "").startswith("schedule:tick:")


async def test_schedule_methods_and_not_found(svc: Service) -> None:
    service = svc.service
    record, created = await service.schedules.put(_every("b"))
    assert created and await service.schedules.get("b") == record
    await service.schedules.put(_every("a"))
    assert [s.name for s in await service.schedules.listing()] == ["a", "b"]
    assert (await service.schedules.set_paused("b", True)).paused is True
    assert (await service.schedules.set_paused("b", False)).paused is False
    job = await service.schedules.trigger("b")
    assert (await service.schedules.get("b")).last_job_id == job.id
    (run,) = await service.schedules.runs("b", 10)
    assert run.job_id == job.id
    assert (await service.schedules.delete("b")).name == "b"
    for call in (service.schedules.get, service.schedules.delete, service.schedules.trigger):
        with pytest.raises(ScheduleNotFound):
            await call("b")
    for paused in (True, False):
        with pytest.raises(ScheduleNotFound):
            await service.schedules.set_paused("b", paused)
    with pytest.raises(ScheduleNotFound):
        await service.schedules.runs("b", 10)


async def test_schedule_metrics(svc: Service) -> None:
    service = svc.service
    await service.schedules.put(_every(overlap=Overlap.SKIP))
    svc.clock.advance(1.25)
    await service.schedules.run(100)  # a job, 0.25 s late
    svc.clock.advance(5)
    await service.schedules.run(100)  # 4 missed, the latest skipped for overlap
    await service.schedules.trigger("tick")
    text = (await service.metrics()).decode()
    assert 'leaseq_schedule_lag_seconds{schedule="tick"} 0.25' in text
    assert 'leaseq_schedule_runs_total{schedule="tick"} 2.0' in text
    assert 'leaseq_schedule_skipped_total{reason="overlap",schedule="tick"} 1.0' in text
    assert 'leaseq_schedule_skipped_total{reason="downtime",schedule="tick"} 4.0' in text
    await service.schedules.delete("tick")
    assert 'schedule="tick"' not in (await service.metrics()).decode()


# -- queues you can steer (issue 12) ---------------------------------------------------


async def _steer(service: QueueService, queue: str = "q", **change: object) -> QueueInfo:
    return await service.update_queue(queue, QueueChange(**change))  # type: ignore[arg-type]


async def test_a_queue_nobody_touched_answers_its_defaults(svc: Service) -> None:
    info = await svc.service.queue("never-seen")
    assert info == QueueInfo("never-seen", QueueSettings())
    assert await svc.service.queues() == []


async def test_update_queue_answers_the_queue_with_its_counts(svc: Service) -> None:
    await _enqueue(svc.service)
    info = await _steer(svc.service, paused=True, concurrency=2)
    assert info.settings == QueueSettings(paused=True, concurrency=2)
    assert info.counts[JobState.QUEUED] == 1
    assert [q.name for q in await svc.service.queues()] == ["q"]
    assert (await svc.service.queue("q")) == info


async def test_a_resume_wakes_a_waiting_poll(svc: Service) -> None:
    await _steer(svc.service, paused=True)
    job = await _enqueue(svc.service)
    poll = await _waiting_poll(svc, "w")
    await asyncio.sleep(0.05)
    assert not poll.done()
    await _steer(svc.service, paused=False)
    (leased,) = await _woken(poll)
    assert leased.id == job.id


async def test_an_ack_that_frees_a_slot_wakes_a_waiting_poll(svc: Service) -> None:
    await _steer(svc.service, concurrency=1)
    await _enqueue(svc.service)
    second = await _enqueue(svc.service)
    (first,) = await svc.service.poll("w1", ["q"])
    poll = await _waiting_poll(svc, "w2")
    await svc.service.ack([Ack(first.id, first.lease_token or "", None)])
    (leased,) = await _woken(poll)
    assert leased.id == second.id


async def test_a_raised_limit_wakes_a_waiting_poll(svc: Service) -> None:
    await _steer(svc.service, key_concurrency=1)
    await _enqueue(svc.service, concurrency_key="k")
    second = await _enqueue(svc.service, concurrency_key="k")
    await svc.service.poll("w1", ["q"])
    poll = await _waiting_poll(svc, "w2")
    await _steer(svc.service, key_concurrency=2)
    (leased,) = await _woken(poll)
    assert leased.id == second.id


async def test_an_expiry_to_the_dead_letters_frees_a_slot(svc: Service) -> None:
    await _steer(svc.service, concurrency=1)
    await _enqueue(svc.service, max_tries=1)
    second = await _enqueue(svc.service)
    await svc.service.poll("w1", ["q"], lease_seconds=1)
    poll = await _waiting_poll(svc, "w2")
    svc.clock.advance(2)
    (dead,) = await svc.service.expire_leases(100)
    assert dead.state is JobState.DEAD
    (leased,) = await _woken(poll)
    assert leased.id == second.id


async def test_a_poll_keeps_to_the_byte_budget(svc: Service) -> None:
    svc.service.settings = dataclasses.replace(svc.service.settings, max_answer_bytes=1024)
    body = '"' + "x" * 598 + '"'
    await svc.service.enqueue([NewJob(payload=body, queue="q") for _ in range(3)])
    assert len(await svc.service.poll("w", ["q"], 10)) == 1


async def test_metrics_show_paused_queues_and_held_back_claims(svc: Service) -> None:
    await _steer(svc.service, paused=True)
    await _steer(svc.service, "r", concurrency=1)
    await _enqueue(svc.service)
    await _enqueue(svc.service, queue="r")
    await _enqueue(svc.service, queue="r")
    assert await svc.service.poll("w", ["q"]) == []
    assert len(await svc.service.poll("w", ["r"], 2)) == 1
    text = (await svc.service.metrics()).decode()
    assert 'leaseq_queue_paused{queue="q"} 1.0' in text
    assert 'leaseq_queue_paused{queue="r"} 0.0' in text
    assert 'leaseq_claims_held_total{queue="q",reason="paused"} 1.0' in text
    assert 'leaseq_claims_held_total{queue="r",reason="concurrency"} 1.0' in text
