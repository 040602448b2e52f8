"""Tags, the task filter and trace context (issue 16), on every backend: what ``list_jobs``
finds by tag and task, its pages, and that a purge takes a job's tags with it. That these
listings stay cheap however many other jobs the store holds is ``test_find_plans``."""

from __future__ import annotations

import sqlite3

import psycopg
import pytest

from leaseq.core.backoff import Backoff
from leaseq.core.commands import Ack, Cancel, Fail
from leaseq.core.model import JobFilter, JobRecord, JobState, NewJob
from leaseq.server.storage.postgres import PostgresStorage
from leaseq.server.storage.sqlite import SQLiteStorage
from tests.storage.conftest import Store

TRACEPARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


async def enqueue(store: Store, *specs: NewJob) -> list[JobRecord]:
    return [job for job, _ in await store.storage.enqueue(specs)]


def tagged(*tags: str, **kw: object) -> NewJob:
    return NewJob(payload="{}", tags=tags, **kw)  # type: ignore[arg-type]


async def ids(store: Store, *tags: str, **kw: object) -> list[str]:
    """Every job the listing finds, one page of 2 at a time (newest first)."""
    found: list[str] = []
    cursor = None
    state = kw.pop("state", None)
    queue = kw.pop("queue", None)
    match = JobFilter(tags=tags, **kw)  # type: ignore[arg-type]
    while True:
        page = await store.storage.list_jobs(state, queue, 2, cursor, match=match)  # type: ignore[arg-type]
        found += [job.id for job in page.jobs]
        if page.next_cursor is None:
            return found
        cursor = page.next_cursor


def tag_rows(store: Store) -> int:
    """The rows of ``job_tags``, read on a connection of the test's own."""
    if isinstance(store.storage, SQLiteStorage):
        with sqlite3.connect(store.storage._path) as conn:
            return int(conn.execute("SELECT count(*) FROM job_tags").fetchone()[0])
    assert isinstance(store.storage, PostgresStorage)
    with psycopg.connect(store.storage._url) as conn:
        row = conn.execute("SELECT count(*) FROM job_tags").fetchone()
        assert row is not None
        return int(row[0])


async def test_tags_and_traceparent_round_trip(store: Store) -> None:
    (job,) = await enqueue(store, tagged("tenant:7", "invoice", traceparent=TRACEPARENT))
    assert (job.tags, job.traceparent) == (("tenant:7", "invoice"), TRACEPARENT)
    got = await store.storage.get(job.id)
    assert got == job
    (leased,) = await store.storage.claim(["default"], "w", 1, 1000)
    assert (leased.tags, leased.traceparent) == (("tenant:7", "invoice"), TRACEPARENT)
    (untagged,) = await enqueue(store, tagged())
    assert (await store.storage.get(untagged.id)) == untagged
    assert untagged.tags == () and untagged.traceparent is None


async def test_a_tag_finds_its_jobs_newest_first_across_pages(store: Store) -> None:
    jobs = await enqueue(store, *(tagged("a" if i % 2 else "b", "all") for i in range(7)), tagged())
    a = [j.id for j in reversed(jobs[:7]) if "a" in j.tags]
    assert await ids(store, "a") == a
    assert await ids(store, "all") == [j.id for j in reversed(jobs[:7])]
    assert await ids(store, "nothing") == []


async def test_every_tag_must_match(store: Store) -> None:
    both, only_x, only_y = await enqueue(store, tagged("x", "y"), tagged("x"), tagged("y"))
    more = await enqueue(store, *(tagged("y", "z", "x") for _ in range(3)))
    assert await ids(store, "x", "y") == [j.id for j in reversed([both, *more])]
    assert await ids(store, "y", "x", "z") == [j.id for j in reversed(more)]
    assert await ids(store, "x", "w") == []
    assert only_x.id in await ids(store, "x") and only_y.id in await ids(store, "y")


async def test_tags_combine_with_state_queue_and_task(store: Store) -> None:
    mine = await enqueue(
        store,
        tagged("t", queue="q", task="send"),
        tagged("t", queue="q", task="bill"),
        tagged("t", queue="other", task="send"),
        tagged("u", queue="q", task="send"),
    )
    assert await ids(store, "t", queue="q") == [mine[1].id, mine[0].id]
    assert await ids(store, "t", task="send") == [mine[2].id, mine[0].id]
    assert await ids(store, "t", queue="q", task="send") == [mine[0].id]
    (leased,) = await store.storage.claim(["other"], "w", 1, 1000)
    assert await ids(store, "t", state=JobState.LEASED) == [leased.id]
    assert await ids(store, "t", state=JobState.QUEUED) == [mine[1].id, mine[0].id]


async def test_the_task_filter_pages_newest_first(store: Store) -> None:
    jobs = await enqueue(store, *(NewJob(payload="1", task=f"t{i % 3}") for i in range(9)))
    t1 = [j.id for j in reversed(jobs) if j.task == "t1"]
    assert await ids(store, task="t1") == t1
    assert await ids(store, task="nope") == []
    (first,) = (await store.storage.list_jobs(None, None, 1, None, match=JobFilter("t1"))).jobs
    assert first.id == t1[0]


async def test_a_tag_given_twice_is_one_tag(store: Store) -> None:
    (job,) = await enqueue(store, tagged("a", "a", "b"))
    assert await ids(store, "a", "a") == [job.id]


async def test_purge_removes_the_tags_of_the_jobs_it_deletes(store: Store) -> None:
    done, cancelled, kept = await enqueue(store, tagged("p", "q"), tagged("p"), tagged("p", "r"))
    (leased,) = await store.storage.claim(["default"], "w", 1, 1000)
    assert leased.id == done.id
    await store.storage.modify([Ack(done.id, leased.lease_token or "", None)])
    await store.storage.modify([Cancel(cancelled.id)])
    assert tag_rows(store) == 5
    store.advance(10)
    assert await store.storage.purge(5000, 100) == 2
    assert tag_rows(store) == 2
    assert await ids(store, "p") == [kept.id]


@pytest.mark.parametrize("count", [1, 20])
async def test_a_batch_stores_the_tags_of_each_job(store: Store, count: int) -> None:
    specs = [tagged(*(f"tag{i}-{k}" for k in range(count))) for i in range(3)]
    jobs = await enqueue(store, *specs)
    assert tag_rows(store) == 3 * count
    for i, job in enumerate(jobs):
        assert await ids(store, f"tag{i}-0", f"tag{i}-{count - 1}") == [job.id]


async def test_a_store_that_ran_a_later_migration_still_gets_0010(store: Store) -> None:
    """Branches land out of order (0010 merged after 0012): a database that recorded
    0012 but not 0010 must get 0010 at its next start, not skip it as "below" 12."""
    undo = [
        "DELETE FROM schema_migrations WHERE version = 10", "DROP TABLE job_tags",
        "DROP INDEX jobs_by_task", "ALTER TABLE jobs DROP COLUMN tags",
        "ALTER TABLE jobs DROP COLUMN traceparent",
    ]  # fmt: skip
    if isinstance(store.storage, SQLiteStorage):
        with sqlite3.connect(store.storage._path) as conn:
            for statement in undo:
                conn.execute(statement)
    else:
        assert isinstance(store.storage, PostgresStorage)
        with psycopg.connect(store.storage._url, autocommit=True) as pg:
            for statement in undo:
                pg.execute(statement)
    assert await _versions(store) > {12} and 10 not in await _versions(store)
    await store.reopen()
    assert 10 in await _versions(store)
    (job,) = await enqueue(store, tagged("back"))
    assert await ids(store, "back") == [job.id]


async def _versions(store: Store) -> set[int]:
    if isinstance(store.storage, SQLiteStorage):
        with sqlite3.connect(store.storage._path) as conn:
            return {v for (v,) in conn.execute("SELECT version FROM schema_migrations")}
    assert isinstance(store.storage, PostgresStorage)
    with psycopg.connect(store.storage._url) as pg:
        return {v for (v,) in pg.execute("SELECT version FROM schema_migrations")}


async def test_delayed_and_attempted_find_the_scheduled_and_retrying_views(store: Store) -> None:
    """The dashboard's scheduled view is QUEUED + delayed, its retrying view QUEUED +
    attempted: answered by the store, by its own clock, not filtered in the browser."""
    ready, later, retried = await enqueue(
        store, NewJob(payload="{}"), NewJob(payload="{}", delay_ms=60_000), NewJob(payload="{}")
    )
    page = await store.storage.claim(["default"], "w", 2, 30_000)
    assert [j.id for j in page] == [ready.id, retried.id]
    by_id = {j.id: j for j in page}
    fail = Fail(retried.id, by_id[retried.id].lease_token or "", "x", True, Backoff(10, 10))
    await store.storage.modify([fail])  # QUEUED again, 10 s of backoff ahead
    queued = JobState.QUEUED
    assert await ids(store, state=queued, delayed=True) == [retried.id, later.id]
    assert await ids(store, state=queued, delayed=False) == []
    assert await ids(store, state=queued, attempted=True) == [retried.id]
    assert await ids(store, state=queued, attempted=False) == [later.id]
    assert await ids(store, delayed=True, attempted=True) == [retried.id]
    assert await ids(store, state=JobState.LEASED, attempted=False) == []
    store.advance(11)  # the retry's backoff is over: ready again, still attempted
    assert await ids(store, state=queued, delayed=True) == [later.id]
    assert await ids(store, state=queued, delayed=False, attempted=True) == [retried.id]
