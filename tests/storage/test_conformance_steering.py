"""Steering a job, on every backend and the fake clock: a timeout caps the leases of an
attempt and the reaper fails the attempt past it; a LEASED job is cancelled at once and
its holder told ``job_cancelled``; heartbeats carry progress and checkpoints."""

from __future__ import annotations

import random

from leaseq.core.backoff import Backoff
from leaseq.core.commands import Ack, Cancel, Fail, Heartbeat, Release
from leaseq.core.model import Action, JobRecord, JobState, NewJob
from leaseq.errors import InvalidTransition, JobCancelled, LeaseLost
from tests.storage.conftest import Store
from tests.storage.test_conformance import claim, enqueue, history

BACKOFF = Backoff(2.0, 2.0, random.Random(3))


async def _leased(store: Store, **spec: object) -> JobRecord:
    await enqueue(store, NewJob(payload="{}", **spec))  # type: ignore[arg-type]
    (job,) = await store.storage.claim(["default"], "w1", 1, 30_000)
    return job


async def _one(store: Store, command: object) -> JobRecord | Exception:
    (out,) = await store.storage.modify([command])  # type: ignore[list-item]
    return out


async def test_a_timeout_caps_the_lease_of_a_poll_and_of_every_heartbeat(store: Store) -> None:
    job = await _leased(store, timeout_ms=5000)
    assert job.timeout_ms == 5000 and job.leased_at is not None
    assert job.lease_expires_at == job.leased_at + 5000  # 30 s asked, 5 s given
    store.advance(4)
    beat = await _one(store, Heartbeat(job.id, job.lease_token or "", 30_000))
    assert isinstance(beat, JobRecord) and beat.lease_expires_at == job.leased_at + 5000
    assert await store.storage.get(job.id) == beat


async def test_the_reaper_fails_an_attempt_past_its_timeout(store: Store) -> None:
    job = await _leased(store, timeout_ms=5000, max_tries=3)
    store.advance(4.9)
    assert await store.storage.expire_leases(100, BACKOFF) == []
    store.advance(0.1)
    (failed,) = await store.storage.expire_leases(100, BACKOFF)
    now = store.clock.now_ms()
    assert (failed.state, failed.attempts, failed.lease_token) == (JobState.QUEUED, 1, None)
    assert (failed.last_error, failed.last_error_type) == ("timed out after 5 s", "TimedOut")
    assert now + 1000 <= failed.run_at <= now + 2000  # the fail's backoff, not "runnable now"
    assert await store.storage.get(job.id) == failed
    events = await history(store, job.id)
    assert (events[-1].kind, events[-1].error) == (Action.TIMED_OUT, "timed out after 5 s")
    assert events[-1].worker_id == "w1"
    stale = await _one(store, Ack(job.id, job.lease_token or "", None))
    assert isinstance(stale, LeaseLost) and not isinstance(stale, JobCancelled)
    counts = (await store.storage.stats())["default"].counts
    assert (counts[JobState.QUEUED], counts[JobState.LEASED]) == (1, 0)


async def test_a_time_out_on_the_last_try_is_dead(store: Store) -> None:
    job = await _leased(store, timeout_ms=1000, max_tries=1)
    store.advance(1)
    (dead,) = await store.storage.expire_leases(100, BACKOFF)
    assert dead.state is JobState.DEAD and dead.last_error == "timed out after 1 s"
    assert (await history(store, job.id))[-1].kind is Action.TIMED_OUT


async def test_a_lease_that_runs_out_before_the_timeout_is_a_plain_expiry(store: Store) -> None:
    await enqueue(store, NewJob(payload="{}", timeout_ms=60_000))
    (job,) = await store.storage.claim(["default"], "w1", 1, 1000)
    store.advance(1)
    (expired,) = await store.storage.expire_leases(100, BACKOFF)
    assert (expired.state, expired.last_error, expired.run_at) == (
        JobState.QUEUED,
        "lease expired",
        store.clock.now_ms(),
    )
    assert (await history(store, job.id))[-1].kind is Action.EXPIRED


async def test_cancel_of_a_leased_job_is_at_once_and_fences_its_holder(store: Store) -> None:
    job = await _leased(store)
    token = job.lease_token or ""
    store.advance(0.01)
    cancelled = await _one(store, Cancel(job.id))
    assert isinstance(cancelled, JobRecord) and cancelled.state is JobState.CANCELLED
    assert (cancelled.lease_owner, cancelled.lease_expires_at) == ("w1", None)
    event = (await history(store, job.id))[-1]
    assert (event.kind, event.worker_id) == (Action.CANCELLED, "w1")
    holder = [Heartbeat(job.id, token, 1000, checkpoint='"x"'), Ack(job.id, token, '"r"'),
              Fail(job.id, token, "e", True, BACKOFF), Release(job.id, token)]  # fmt: skip
    for command in holder:
        assert isinstance(await _one(store, command), JobCancelled), command
    assert await store.storage.get(job.id) == cancelled  # none of it changed anything
    store.advance(60)
    assert await store.storage.expire_leases(100, BACKOFF) == []
    counts = (await store.storage.stats())["default"].counts
    assert (counts[JobState.LEASED], counts[JobState.CANCELLED]) == (0, 1)
    again = await _one(store, Cancel(job.id))
    assert isinstance(again, InvalidTransition)


async def test_cancel_of_a_done_job_is_refused(store: Store) -> None:
    job = await _leased(store)
    await _one(store, Ack(job.id, job.lease_token or "", None))
    assert isinstance(await _one(store, Cancel(job.id)), InvalidTransition)


async def test_a_batch_cancel_answers_each_job(store: Store) -> None:
    leased = await _leased(store)
    (queued,) = await enqueue(store, NewJob(payload="{}"))
    answers = await store.storage.modify([Cancel(leased.id), Cancel("nope"), Cancel(queued.id)])
    assert [type(a).__name__ for a in answers] == ["JobRecord", "JobNotFound", "JobRecord"]


async def test_heartbeats_store_progress_and_checkpoints(store: Store) -> None:
    job = await _leased(store, max_tries=3)
    token = job.lease_token or ""
    store.advance(0.01)
    await _one(store, Heartbeat(job.id, token, 30_000, progress='{"done":1}'))
    store.advance(0.01)
    beat = await _one(store, Heartbeat(job.id, token, 30_000, checkpoint='{"page":7}'))
    assert isinstance(beat, JobRecord)
    assert (beat.progress, beat.checkpoint) == ('{"done":1}', '{"page":7}')
    assert await store.storage.get(job.id) == beat
    listed = (await store.storage.list_jobs(None, None, 10, None)).jobs[0]
    assert (listed.progress, listed.checkpoint) == ('{"done":1}', '{"page":7}')
    kinds = [e.kind for e in await history(store, job.id)]
    assert kinds == [Action.ENQUEUED, Action.LEASED, Action.HEARTBEAT, Action.CHECKPOINTED]
    store.advance(0.01)
    failed = await _one(store, Fail(job.id, token, "e", True, BACKOFF, checkpoint='{"page":9}'))
    assert isinstance(failed, JobRecord) and failed.checkpoint == '{"page":9}'
    store.advance(5)
    (again,) = await claim(store)
    assert (again.attempts, again.progress, again.checkpoint) == (2, None, '{"page":9}')


async def test_a_stale_token_writes_neither_progress_nor_checkpoint(store: Store) -> None:
    job = await _leased(store)
    old = job.lease_token or ""
    await _one(store, Release(job.id, old))
    (again,) = await claim(store)
    item = Heartbeat(job.id, old, 30_000, progress='"stale"', checkpoint='"stale"')
    fail = Fail(job.id, old, "e", True, BACKOFF, checkpoint='"stale"')
    for command in (item, fail):
        assert isinstance(await _one(store, command), LeaseLost)
    got = await store.storage.get(job.id)
    assert got == again and (got.progress, got.checkpoint) == (None, None)
