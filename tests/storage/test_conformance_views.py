"""The storage contract, continued: what a store shows of its jobs (their events, the
workers seen, the dead letters grouped, the counts), checked on every backend."""

from __future__ import annotations

import itertools
import secrets

import pytest

from leaseq.core.commands import Cancel, Heartbeat, Requeue
from leaseq.core.model import Action, EventListing, JobRecord, JobState
from leaseq.errors import InvalidRequest
from tests.storage.conftest import Store
from tests.storage.test_conformance import (
    LEASE_MS,
    ack,
    claim,
    enqueue,
    fail,
    heartbeat,
    history,
    spec,
)


async def test_every_transition_leaves_an_event(store: Store) -> None:
    (job,) = await enqueue(store, spec(max_tries=2))
    (leased,) = await claim(store)
    await store.storage.modify([Heartbeat(job.id, leased.lease_token or "", 1000)])
    await fail(store, leased, "boom")
    store.advance(0.25)
    await claim(store)
    store.advance(0.35)
    await store.storage.expire_leases(10)  # last try: DEAD
    await store.storage.modify([Requeue(job.id)])
    (third,) = await claim(store)
    await ack(store, third)
    events = await history(store, job.id)
    assert [(e.kind, e.state) for e in events] == [
        (Action.ENQUEUED, JobState.QUEUED), (Action.LEASED, JobState.LEASED),
        (Action.HEARTBEAT, JobState.LEASED), (Action.FAILED, JobState.QUEUED),
        (Action.LEASED, JobState.LEASED), (Action.EXPIRED, JobState.DEAD),
        (Action.REQUEUED, JobState.QUEUED), (Action.LEASED, JobState.LEASED),
        (Action.DONE, JobState.DONE),
    ]  # fmt: skip
    assert [e.attempt for e in events] == [0, 1, 1, 1, 2, 2, 0, 1, 1]
    assert events[1].worker_id == "w1" and events[3].error == "boom"
    assert events[5].error == "lease expired"
    assert all(a.at <= b.at for a, b in itertools.pairwise(events))
    assert await store.storage.events("missing", 100, None) == EventListing([], None)


async def test_events_page_oldest_first_with_stable_cursors(store: Store) -> None:
    (job,) = await enqueue(store, spec())
    (other,) = await enqueue(store, spec())
    (leased,) = await claim(store)
    assert leased.id == job.id
    for _ in range(5):
        await heartbeat(store, leased)
    page1 = await store.storage.events(job.id, 3, None)
    await heartbeat(store, leased)  # appended while paging: shows up on the last page
    page2 = await store.storage.events(job.id, 3, page1.next_cursor)
    page3 = await store.storage.events(job.id, 3, page2.next_cursor)
    pages = (page1, page2, page3)
    assert [len(p.events) for p in pages] == [3, 3, 2]
    assert page1.next_cursor is not None and page2.next_cursor is not None
    assert page3.next_cursor is None
    seen = [e for p in pages for e in p.events]
    assert seen == await history(store, job.id)
    assert [e.kind for e in seen] == [Action.ENQUEUED, Action.LEASED, *[Action.HEARTBEAT] * 6]
    assert {e.job_id for e in seen} == {job.id}
    exact = await store.storage.events(job.id, 8, None)
    assert len(exact.events) == 8 and exact.next_cursor is None  # no empty last page
    assert [e.kind for e in (await store.storage.events(other.id, 3, None)).events] == [
        Action.ENQUEUED
    ]
    for bogus in ("bogus", "-1", "1.5", "\u0661", "9" * 19):
        with pytest.raises(InvalidRequest):
            await store.storage.events(job.id, 3, bogus)


async def test_fail_without_tries_left_records_dead(store: Store) -> None:
    (job,) = await enqueue(store, spec(max_tries=1))
    (leased,) = await claim(store)
    await fail(store, leased, "fatal")
    kinds = [(e.kind, e.error) for e in await history(store, job.id)]
    assert kinds[-1] == (Action.DEAD, "fatal")


async def test_a_long_error_can_bury_a_job(store: Store) -> None:
    """Found by the page-budget work: PostgreSQL indexed ``last_error`` of DEAD jobs, and a
    B-tree entry over about 2.7 kB made the fail itself fail; the job stayed LEASED."""
    (job,) = await enqueue(store, spec(max_tries=1))
    (leased,) = await claim(store)
    error = secrets.token_hex(32_000)  # 64,000 characters that do not compress
    dead = await fail(store, leased, error)
    assert isinstance(dead, JobRecord) and dead.state is JobState.DEAD, dead
    (group,) = await store.storage.dead_groups("default", 10, 10)
    assert (group.count, group.job_ids) == (1, [job.id])


async def test_workers_are_seen_and_tallied(store: Store) -> None:
    await enqueue(store, spec(), spec(), spec())
    a, b, c = await store.storage.claim(["default"], "w-a", 3, LEASE_MS)
    await ack(store, a)
    await fail(store, b, "x")
    await store.storage.claim(["nothing-here"], "w-idle", 1, LEASE_MS)
    workers = {w.worker_id: w for w in await store.storage.workers(60_000, 10)}
    assert set(workers) == {"w-a", "w-idle"}
    assert (workers["w-a"].queues, workers["w-a"].concurrency) == (["default"], None)
    assert (workers["w-a"].done, workers["w-a"].failed, workers["w-a"].jobs) == (1, 1, [c.id])
    assert workers["w-idle"].jobs == [] and workers["w-idle"].done == 0
    assert await store.storage.count_workers(60_000) == 2
    store.advance(0.2)
    assert await store.storage.workers(100, 10) == []


async def test_a_worker_is_shown_as_its_latest_poll_describes_it(store: Store) -> None:
    await store.storage.claim(["b", "a", "b"], "w", 1, LEASE_MS, concurrency=8)
    (w,) = await store.storage.workers(60_000, 10)
    assert (w.queues, w.concurrency) == (["b", "a"], 8)
    await enqueue(store, spec(queue="c"))
    (job,) = await store.storage.claim(["c"], "w", 1, LEASE_MS)
    await ack(store, job)  # a tally of its events leaves its shape alone
    (w,) = await store.storage.workers(60_000, 10)
    assert (w.queues, w.concurrency, w.done, w.jobs) == (["c"], None, 1, [])


async def test_dead_groups_by_error(store: Store) -> None:
    await enqueue(store, *[spec(max_tries=1) for _ in range(5)])
    for i, job in enumerate(await claim(store, 5)):
        await fail(store, job, "timeout" if i < 3 else "refused")
    groups = await store.storage.dead_groups("default", 10, 2)
    assert [(g.error, g.count, len(g.job_ids)) for g in groups] == [
        ("timeout", 3, 2), ("refused", 2, 2),
    ]  # fmt: skip
    assert await store.storage.dead_groups("other", 10, 2) == []


async def test_stats_counts_follow_every_transition(store: Store) -> None:
    await enqueue(store, *[spec(max_tries=1) for _ in range(4)])
    a, b, _ = await claim(store, 3)
    await ack(store, a)
    await fail(store, b, "x")
    (d,) = await enqueue(store, spec())
    await store.storage.modify([Cancel(d.id)])
    counts = (await store.storage.stats())["default"].counts
    assert counts == {JobState.QUEUED: 1, JobState.LEASED: 1, JobState.DONE: 1,
                      JobState.DEAD: 1, JobState.CANCELLED: 1}  # fmt: skip
    store.advance(0.3)
    assert await store.storage.purge(100, 100) == 2
    counts = (await store.storage.stats())["default"].counts
    assert (counts[JobState.DONE], counts[JobState.CANCELLED]) == (0, 0)
