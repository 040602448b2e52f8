"""Pages cut at a byte budget (issue 14, defect 6), on every backend, on the fake clock:
``Storage.list_jobs`` and ``Storage.events`` stop before the row that would take a page
past ``max_bytes``, always answer one row, and their cursors go on exactly from there."""

from __future__ import annotations

from leaseq.core.model import EventRecord, JobRecord, JobState
from tests.storage.conftest import Store
from tests.storage.test_conformance import claim, enqueue, fail, history, spec

KB = 1000
MB = 1024 * 1024


def text(n: int) -> str:
    """A JSON string payload of exactly ``n`` bytes."""
    return '"' + "x" * (n - 2) + '"'


async def pages(
    store: Store, max_bytes: int, state: JobState | None = None, limit: int = 1000
) -> list[list[JobRecord]]:
    """Every page of the listing, first to last."""
    out: list[list[JobRecord]] = []
    cursor: str | None = None
    while True:
        page = await store.storage.list_jobs(state, None, limit, cursor, max_bytes)
        out.append(page.jobs)
        if page.next_cursor is None:
            return out
        assert len(out) < 100, "the cursor does not move"
        cursor = page.next_cursor


async def test_a_page_stops_at_its_budget_and_goes_on_where_it_stopped(store: Store) -> None:
    jobs = await enqueue(store, *[spec(text(300 * KB)) for _ in range(10)])
    newest = [j.id for j in reversed(jobs)]
    first = await store.storage.list_jobs(None, None, 10, None, MB)
    assert [j.id for j in first.jobs] == newest[:3] and first.next_cursor is not None
    second = await store.storage.list_jobs(None, None, 10, first.next_cursor, MB)
    assert [j.id for j in second.jobs] == newest[3:6]
    got = await pages(store, MB)
    assert [len(p) for p in got] == [3, 3, 3, 1]
    assert [j.id for p in got for j in p] == newest  # every job once, in order


async def test_a_job_over_the_budget_still_answers_alone(store: Store) -> None:
    jobs = await enqueue(store, *[spec(text(300 * KB)) for _ in range(3)], spec("{}"))
    got = await pages(store, 100 * KB)
    assert [[j.id for j in p] for p in got] == [[j.id] for j in reversed(jobs)]


async def test_the_count_limit_still_holds_under_the_budget(store: Store) -> None:
    jobs = await enqueue(store, *[spec() for _ in range(5)])
    got = await pages(store, MB, limit=2)
    assert [len(p) for p in got] == [2, 2, 1]
    assert {j.id for p in got for j in p} == {j.id for j in jobs}


async def test_a_page_exactly_at_its_budget_keeps_the_last_job(store: Store) -> None:
    await enqueue(store, *[spec(text(250 * KB)) for _ in range(5)])
    got = await store.storage.list_jobs(None, None, 10, None, 1000 * KB)
    assert len(got.jobs) == 4 and got.next_cursor is not None


async def test_results_errors_and_multibyte_text_weigh_their_bytes(store: Store) -> None:
    (wide,) = await enqueue(store, spec('"' + "é" * 300 * KB + '"'))  # 600 KB, 300 K chars
    (erring,) = await enqueue(store, spec())
    (leased,) = await claim(store)
    assert leased.id == wide.id
    (leased,) = await claim(store)
    # Retried, not DEAD: PostgreSQL's jobs_dead index cannot hold a last error this big.
    await fail(store, leased, "e" * 500 * KB)
    (back,) = (await store.storage.list_jobs(JobState.QUEUED, None, 10, None, 400 * KB)).jobs
    assert back.id == erring.id and len(back.last_error or "") == 500 * KB
    got = await pages(store, 1000 * KB)
    assert [[j.id for j in p] for p in got] == [[erring.id], [wide.id]]


async def test_a_filtered_listing_pages_by_bytes_too(store: Store) -> None:
    jobs = await enqueue(store, *[spec(text(300 * KB)) for _ in range(6)])
    for job in await claim(store, 2):
        await fail(store, job, "boom", retry=False)
    await enqueue(store, spec(text(300 * KB)))
    got = await pages(store, 400 * KB, JobState.DEAD)
    assert [[j.id for j in p] for p in got] == [[jobs[1].id], [jobs[0].id]]


async def test_an_event_page_stops_at_its_budget(store: Store) -> None:
    (job,) = await enqueue(store, spec(max_tries=10))
    for _ in range(4):
        (leased,) = await claim(store)
        await fail(store, leased, "e" * 60 * KB)
        store.advance(1)
    everything = await history(store, job.id)
    assert sum(1 for e in everything if e.error) == 4
    seen: list[EventRecord] = []
    cursor: str | None = None
    sizes: list[int] = []
    while True:
        page = await store.storage.events(job.id, 1000, cursor, 130 * KB)
        seen += page.events
        sizes.append(sum(len(e.error or "") for e in page.events))
        if (cursor := page.next_cursor) is None:
            break
    assert seen == everything
    assert len(sizes) == 2 and max(sizes) <= 130 * KB


async def test_a_poll_weighs_the_last_error_a_retried_job_carries(store: Store) -> None:
    """A leased job's answer holds the last attempt's error (up to 64 KiB): a poll of
    retried jobs with long tracebacks must stop at the budget like one of big payloads."""
    await enqueue(store, *[spec(max_tries=3) for _ in range(3)])
    for job in await claim(store, 3):
        await fail(store, job, "x" * 600)
    store.advance(5)  # past the backoff
    got = await store.storage.claim(["default"], "w", 3, 1000, max_bytes=1024)
    assert len(got) == 1 and got[0].last_error == "x" * 600
