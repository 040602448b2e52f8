"""The storage contract (see ``leaseq.server.storage.base``), checked on every backend."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

import pytest

from leaseq.core import transitions as t
from leaseq.core.backoff import Backoff
from leaseq.core.commands import Ack, Cancel, Fail, Heartbeat
from leaseq.core.model import Action, EventRecord, JobRecord, JobState, NewJob
from leaseq.errors import InvalidRequest, JobNotFound, LeaseLost
from leaseq.server.storage.base import Claimed
from tests.storage.conftest import Store

LEASE_MS = 300


def spec(payload: str = "{}", **kw: object) -> NewJob:
    return NewJob(payload=payload, **kw)  # type: ignore[arg-type]


async def enqueue(store: Store, *specs: NewJob) -> list[JobRecord]:
    return [job for job, _ in await store.storage.enqueue(specs)]


async def claim(store: Store, n: int = 1, queues: tuple[str, ...] = ("default",)) -> Claimed:
    return await store.storage.claim(list(queues), "w1", n, LEASE_MS)


async def ack(store: Store, job: JobRecord, token: str | None = None) -> JobRecord | Exception:
    command = Ack(job.id, token or job.lease_token or "", '"ok"')
    (out,) = await store.storage.modify([command])
    return out


async def fail(
    store: Store, job: JobRecord, error: str, retry: bool = True
) -> JobRecord | Exception:
    command = Fail(job.id, job.lease_token or "", error, retry, Backoff(0.2, 0.2))
    (out,) = await store.storage.modify([command])
    return out


async def history(store: Store, job_id: str) -> list[EventRecord]:
    page = await store.storage.events(job_id, 1000, None)
    assert page.next_cursor is None
    return page.events


async def heartbeat(store: Store, job: JobRecord) -> None:
    """One more ``heartbeat`` event: a later millisecond, so the lease does move."""
    store.advance(0.005)
    (out,) = await store.storage.modify([Heartbeat(job.id, job.lease_token or "", 1000)])
    assert isinstance(out, JobRecord), out


async def test_enqueue_then_get_round_trips_every_field(store: Store) -> None:
    full = spec('{"to":"a@b.c"}', queue="q", task="send", priority=3, max_tries=7,
                delay_ms=5000, idempotency_key="k", concurrency_key="tenant-1")  # fmt: skip
    (job,) = await enqueue(store, full)
    got = await store.storage.get(job.id)
    assert got == job
    assert (got.state, got.payload, got.run_at - got.created_at, got.concurrency_key) == (
        JobState.QUEUED,
        '{"to":"a@b.c"}',
        5000,
        "tenant-1",
    )
    store.advance(5)
    (leased,) = await claim(store, queues=("q",))
    assert leased.concurrency_key == "tenant-1"
    assert (await store.storage.list_jobs(None, "q", 10, None)).jobs[0].concurrency_key == (
        "tenant-1"
    )
    assert await store.storage.get("no-such-id") is None


async def test_idempotency_key_returns_the_existing_job_per_queue(store: Store) -> None:
    (first, created) = (await store.storage.enqueue([spec("1", idempotency_key="k")]))[0]
    again = await store.storage.enqueue(
        [spec("2", idempotency_key="k"), spec("3", idempotency_key="k", queue="other")]
    )
    assert created is True
    assert again[0] == (first, False)
    assert again[1][1] is True and again[1][0].queue == "other"
    in_batch = await store.storage.enqueue([spec(idempotency_key="z"), spec(idempotency_key="z")])
    assert in_batch[1] == (in_batch[0][0], False)


async def test_claim_order_is_priority_then_run_at_then_enqueue_order(store: Store) -> None:
    low = await enqueue(store, spec("1"), spec("2"))
    (high,) = await enqueue(store, spec("3", priority=9))
    (early,) = await enqueue(store, spec("4", run_at=1))  # long ago: ready, earliest run_at
    got = await claim(store, 10)
    assert [j.id for j in got] == [high.id, early.id, low[0].id, low[1].id]


async def test_claim_takes_only_ready_jobs_of_the_named_queues(store: Store) -> None:
    (delayed,) = await enqueue(store, spec(delay_ms=200))
    (other,) = await enqueue(store, spec(queue="other"))
    assert await claim(store) == []
    assert [j.id for j in await claim(store, queues=("default", "other"))] == [other.id]
    store.advance(0.25)
    assert [j.id for j in await claim(store)] == [delayed.id]


async def test_claim_sets_the_lease_like_the_pure_rule(store: Store) -> None:
    (job,) = await enqueue(store, spec())
    (got,) = await store.storage.claim(["default"], "worker-7", 1, 30_000)
    expected = t.lease(job, got.updated_at, "worker-7", 30_000, got.lease_token or "")
    assert got == expected
    assert got.lease_token and len(got.lease_token) >= 16


async def test_claim_respects_max_jobs_and_gives_distinct_tokens(store: Store) -> None:
    await enqueue(store, *[spec(str(i)) for i in range(5)])
    got = await claim(store, 3)
    assert len(got) == 3 and len({j.lease_token for j in got}) == 3
    assert len(await claim(store, 10)) == 2


async def test_concurrent_claims_never_return_the_same_job(store: Store) -> None:
    await store.storage.enqueue([spec(str(i)) for i in range(300)])
    rounds = await asyncio.gather(*[claim(store, 7) for _ in range(60)])
    ids = [j.id for batch in rounds for j in batch]
    assert len(ids) == 300 and len(set(ids)) == 300


async def test_modify_fences_on_the_token(store: Store) -> None:
    await enqueue(store, spec())
    (job,) = await claim(store)
    assert isinstance(await ack(store, job, "stale-token"), LeaseLost)
    done = await ack(store, job)
    assert isinstance(done, JobRecord) and done.state is JobState.DONE and done.result == '"ok"'
    assert await ack(store, job) == done  # repeated ack with the completing token
    assert (await store.storage.get(job.id)) == done


async def test_modify_answers_per_item_and_not_found(store: Store) -> None:
    await enqueue(store, spec(), spec())
    a, b = await claim(store, 2)
    acks = [Ack(a.id, a.lease_token or "", "1"), Ack("missing", "x", "1"), Ack(b.id, "wrong", "1")]
    out = await store.storage.modify(acks)
    assert isinstance(out[0], JobRecord) and out[0].state is JobState.DONE
    assert isinstance(out[1], JobNotFound) and isinstance(out[2], LeaseLost)
    assert (await store.storage.get(b.id)).state is JobState.LEASED  # type: ignore[union-attr]


async def test_fail_with_backoff_requeues_later(store: Store) -> None:
    await enqueue(store, spec(max_tries=2))
    (job,) = await claim(store)
    backoff = Backoff(0.2, 0.2)
    (out,) = await store.storage.modify(
        [Fail(job.id, job.lease_token or "", "boom", True, backoff)]
    )
    assert isinstance(out, JobRecord) and out.state is JobState.QUEUED and out.last_error == "boom"
    assert await claim(store) == []
    ready_in = await store.storage.next_ready_in(["default"])
    assert ready_in is not None and 0 < ready_in <= 0.2
    store.advance(0.25)
    assert await store.storage.next_ready_in(["default"]) is None
    (again,) = await claim(store)
    assert again.attempts == 2


async def test_expire_leases_requeues_then_buries_on_last_try(store: Store) -> None:
    await enqueue(store, spec(max_tries=2))
    await claim(store)
    assert await store.storage.expire_leases(100) == []  # still live
    store.advance(0.35)
    (expired,) = await store.storage.expire_leases(100)
    assert expired.state is JobState.QUEUED and expired.last_error == "lease expired"
    (job,) = await claim(store)
    store.advance(0.35)
    (dead,) = await store.storage.expire_leases(100)
    assert dead.id == job.id and dead.state is JobState.DEAD


async def test_purge_deletes_only_old_finished_jobs(store: Store) -> None:
    await enqueue(store, spec(), spec())
    done, _ = await claim(store, 2)
    await ack(store, done)
    (queued,) = await enqueue(store, spec())
    (cancelled,) = await store.storage.modify([Cancel(queued.id)])
    assert await store.storage.purge(10_000, 100) == 0  # too young
    store.advance(0.3)
    assert await store.storage.purge(200, 100) == 2
    assert await store.storage.get(done.id) is None
    assert await store.storage.get(cancelled.id) is None  # type: ignore[union-attr]
    assert (await store.storage.stats())["default"].counts[JobState.LEASED] == 1


async def test_dead_ids_walk_forward_per_queue(store: Store) -> None:
    jobs = await enqueue(store, *[spec(max_tries=1) for _ in range(5)], spec(queue="x"))
    for job in await claim(store, 5):
        await fail(store, job, "e", retry=False)
    first = await store.storage.dead_ids("default", None, 3)
    rest = await store.storage.dead_ids("default", first[-1], 3)
    assert first + rest == [j.id for j in jobs[:5]]
    assert await store.storage.dead_ids("x", None, 3) == []


async def test_list_jobs_pages_newest_first_with_stable_cursors(store: Store) -> None:
    jobs = await enqueue(store, *[spec(str(i)) for i in range(7)])
    page1 = await store.storage.list_jobs(None, None, 3, None)
    await enqueue(store, spec("new"))  # must not shift later pages
    page2 = await store.storage.list_jobs(None, None, 3, page1.next_cursor)
    page3 = await store.storage.list_jobs(None, None, 3, page2.next_cursor)
    seen = [j.id for p in (page1, page2, page3) for j in p.jobs]
    assert seen == [j.id for j in reversed(jobs)]
    assert page3.next_cursor is None
    with pytest.raises(InvalidRequest):
        await store.storage.list_jobs(None, None, 3, "bogus")


async def test_list_jobs_filters_by_state_and_queue(store: Store) -> None:
    await enqueue(store, spec(), spec(queue="b"), spec(queue="b"))
    await claim(store, 1, ("b",))
    page = await store.storage.list_jobs(JobState.QUEUED, "b", 10, None)
    assert [j.queue for j in page.jobs] == ["b"] and page.jobs[0].state is JobState.QUEUED
    assert len((await store.storage.list_jobs(None, "b", 10, None)).jobs) == 2


async def test_stats_count_by_queue_and_state(store: Store) -> None:
    await enqueue(store, spec(), spec(), spec(queue="b"))
    await claim(store)
    store.advance(0.1)
    stats = await store.storage.stats()
    assert stats["default"].counts[JobState.QUEUED] == 1
    assert stats["default"].counts[JobState.LEASED] == 1
    assert stats["b"].counts[JobState.QUEUED] == 1
    assert stats["b"].oldest_queued_age_s == 0.1


async def test_ping_answers(store: Store) -> None:
    await store.storage.ping()


async def test_next_ready_in_looks_only_at_the_named_queues(store: Store) -> None:
    await enqueue(store, spec(queue="soon", delay_ms=100), spec(queue="later", delay_ms=10_000))
    soon = await store.storage.next_ready_in(["soon", "later"])
    assert soon == 0.1
    later = await store.storage.next_ready_in(["later"])
    assert later == 10
    assert await store.storage.next_ready_in(["none"]) is None


async def test_lease_records_when_it_began(store: Store) -> None:
    await enqueue(store, spec())
    store.advance(0.05)
    (job,) = await claim(store)
    assert job.leased_at == job.updated_at and job.leased_at is not None
    done = await ack(store, job)
    assert isinstance(done, JobRecord) and done.leased_at == job.leased_at


async def test_list_jobs_refuses_non_ascii_digit_cursors(store: Store) -> None:
    """``"١٢".isdigit()`` is true; such a cursor was never given out."""
    for cursor in ("\u0661\u0662", "\u00b2", "9" * 19):  # and none past 64 bits
        with pytest.raises(InvalidRequest):
            await store.storage.list_jobs(None, None, 3, cursor)


async def test_a_transition_that_changes_nothing_is_accepted(store: Store) -> None:
    """Found by the model-based test: a heartbeat in the same millisecond as its lease,
    with the same length, leaves every column as it was."""
    await enqueue(store, spec())
    (job,) = await claim(store)
    (out,) = await store.storage.modify([_SameMillisecondHeartbeat(job.id, job.lease_token or "")])
    assert isinstance(out, JobRecord) and out.lease_expires_at == job.lease_expires_at


@dataclass(frozen=True, slots=True)
class _SameMillisecondHeartbeat:
    """A heartbeat taken as if in the lease's own millisecond, with the lease's length."""

    job_id: str
    lease_token: str
    action: ClassVar[Action] = Action.HEARTBEAT

    def apply(self, job: JobRecord, now: int) -> JobRecord:
        return t.heartbeat(job, self.lease_token, LEASE_MS, job.leased_at or now)
