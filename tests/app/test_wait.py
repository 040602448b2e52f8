"""Waiting for a result (``QueueService.get`` with ``wait``), on both backends: what ends a
wait at once (ack, a fail or an expiry to DEAD, cancel), what does not (a retryable fail),
and that a wait holds nothing once it has answered.

Each wait is given 10 s and must answer within ``WOKEN_WITHIN_S``: a wait that is not
woken, and answers at its deadline or at the 5 s recheck, fails the test.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from leaseq.core.clock import FakeClock
from leaseq.core.commands import Ack
from leaseq.core.model import JobRecord, JobState, NewJob
from leaseq.errors import JobNotFound
from leaseq.server import waiting
from leaseq.server.service import QueueService
from leaseq.server.storage import Storage
from leaseq.server.storage.postgres import PostgresStorage
from leaseq.server.storage.sqlite import SQLiteStorage
from tests.support.inproc import FAST, settings_for
from tests.support.postgres import base_url, fresh_database

WAIT_S = 10.0
WOKEN_WITHIN_S = 2.0
assert WOKEN_WITHIN_S < waiting.RECHECK_S


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def service(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[QueueService]:
    clock = FakeClock()
    if request.param == "sqlite":
        storage: Storage = SQLiteStorage(str(tmp_path / "wait.db"), clock)
        async for svc in _run(storage, tmp_path):
            yield svc
        return
    with fresh_database(base_url()) as url:
        async for svc in _run(PostgresStorage(url, clock), tmp_path):
            yield svc


async def _run(storage: Storage, tmp_path: Path) -> AsyncIterator[QueueService]:
    svc = QueueService(storage, settings_for(tmp_path, **FAST))
    await svc.open()
    try:
        yield svc
    finally:
        svc.stop_waiting()
        await svc.close()


async def _leased(svc: QueueService, **kw: object) -> JobRecord:
    ((job, _),) = await svc.enqueue([NewJob(payload="1", queue="w", **kw)])  # type: ignore[arg-type]
    (leased,) = await svc.poll("worker", ["w"], 1, 1.0)
    assert leased.id == job.id
    return leased


async def _waiting(svc: QueueService, job_id: str) -> asyncio.Task[JobRecord]:
    """A wait that has read the job unfinished and now sleeps on it."""
    task = asyncio.create_task(svc.get(job_id, WAIT_S))
    for _ in range(400):
        if svc._finishes.waiting:
            await asyncio.sleep(0.05)  # its read is done: it subscribed before reading
            return task
        await asyncio.sleep(0.005)
    raise AssertionError("the wait never started")


async def _answer(task: asyncio.Task[JobRecord]) -> tuple[JobRecord, float]:
    start = time.perf_counter()
    job = await asyncio.wait_for(task, WOKEN_WITHIN_S)
    return job, time.perf_counter() - start


async def test_an_ack_ends_the_wait_with_the_result(service: QueueService) -> None:
    leased = await _leased(service)
    wait = await _waiting(service, leased.id)
    assert not wait.done()
    await service.ack([Ack(leased.id, leased.lease_token or "", '{"sent": true}')])
    job, took = await _answer(wait)
    assert (job.state, job.result) == (JobState.DONE, '{"sent": true}')
    assert took < 1.0
    await asyncio.sleep(0)  # a future's callbacks run on the loop's next turn
    assert service._finishes.waiting == 0


async def test_a_fail_to_dead_ends_the_wait(service: QueueService) -> None:
    leased = await _leased(service, max_tries=1)
    wait = await _waiting(service, leased.id)
    await service.fail(leased.id, leased.lease_token or "", "boom", True)
    job, _ = await _answer(wait)
    assert (job.state, job.last_error) == (JobState.DEAD, "boom")


async def test_a_cancel_ends_the_wait(service: QueueService) -> None:
    ((queued, _),) = await service.enqueue([NewJob(payload="1", queue="c", delay_ms=60_000)])
    wait = await _waiting(service, queued.id)
    await service.cancel([queued.id])
    job, _ = await _answer(wait)
    assert job.state is JobState.CANCELLED


async def test_an_expiry_on_the_last_try_ends_the_wait(service: QueueService) -> None:
    leased = await _leased(service, max_tries=1)
    wait = await _waiting(service, leased.id)
    storage = service._storage
    clock = storage._clock  # type: ignore[attr-defined]
    assert isinstance(clock, FakeClock)
    clock.advance(2)
    assert [j.id for j in await service.expire_leases(10)] == [leased.id]
    job, _ = await _answer(wait)
    assert (job.state, job.last_error) == (JobState.DEAD, "lease expired")


async def test_a_retryable_fail_does_not_end_the_wait(service: QueueService) -> None:
    leased = await _leased(service, max_tries=3)
    task = asyncio.create_task(service.get(leased.id, 0.6))
    await asyncio.sleep(0.1)
    await service.fail(leased.id, leased.lease_token or "", "again", True)
    start = time.perf_counter()
    job = await asyncio.wait_for(task, 2)
    assert time.perf_counter() - start > 0.3  # it held on to its deadline
    assert (job.state, job.attempts) == (JobState.QUEUED, 1)


async def test_a_finished_job_is_answered_at_once(service: QueueService) -> None:
    leased = await _leased(service)
    await service.ack([Ack(leased.id, leased.lease_token or "", None)])
    start = time.perf_counter()
    job = await service.get(leased.id, WAIT_S)
    assert job.state is JobState.DONE and time.perf_counter() - start < 0.5


async def test_a_wait_that_runs_out_answers_the_job_as_it_is(service: QueueService) -> None:
    leased = await _leased(service)
    start = time.perf_counter()
    job = await service.get(leased.id, 0.3)
    assert 0.25 < time.perf_counter() - start < 2
    assert job.state is JobState.LEASED
    await asyncio.sleep(0)  # a future's callbacks run on the loop's next turn
    assert service._finishes.waiting == 0


async def test_an_unknown_id_is_not_found_without_waiting(service: QueueService) -> None:
    start = time.perf_counter()
    with pytest.raises(JobNotFound):
        await service.get("no-such-job", WAIT_S)
    assert time.perf_counter() - start < 0.5


async def test_shutdown_answers_every_wait_at_once(service: QueueService) -> None:
    leased = await _leased(service)
    waits = [await _waiting(service, leased.id) for _ in range(3)]
    service.stop_waiting()
    for wait in waits:
        job, _ = await _answer(wait)
        assert job.state is JobState.LEASED
