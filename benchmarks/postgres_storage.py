"""PostgreSQL backend throughput: batch enqueue, concurrent claims, batch acks.

Usage (from the repository root):
    PYTHONPATH=. python benchmarks/postgres_storage.py postgresql://postgres@127.0.0.1:5432/test
Creates and drops a scratch database. With ``--asyncpg`` (asyncpg installed) it also
runs the same claim statement through an asyncpg pool, to compare the drivers.
``check=False`` runs without the pool's per-checkout connection check, to show its cost.

Measured on the 2-CPU dev machine, PostgreSQL 15 on the same host (20,000 jobs):

    psycopg check=True  workers=16 max_jobs= 1: enqueue 33.6 ms/1000 jobs, claim 1,291 jobs/s
    psycopg check=False workers=16 max_jobs= 1: enqueue 31.1 ms/1000 jobs, claim 1,735 jobs/s
    asyncpg               workers=16 max_jobs= 1: claim 1,836 jobs/s
    psycopg check=True  workers=16 max_jobs=10: claim  8,437 jobs/s
    psycopg check=False workers=16 max_jobs=10: claim 10,642 jobs/s
    asyncpg               workers=16 max_jobs=10: claim 12,467 jobs/s
    acks: 60-80 ms per batch of 1000

Claim+ack loop (16 workers), before/after events, worker tallies and the count ledger,
alternating runs on the same (busy, load 5-8) 2-CPU machine, 6,000 jobs:

    max_jobs= 1: before 400-550 jobs/s, after 200-310 jobs/s
    max_jobs=10: before 2,100-4,050 jobs/s, after 1,200-2,400 jobs/s

Sequentially, one worker: claim 1.4-2.2 -> 3.0-5.6 ms, ack 1.8-3.0 -> 3.1-5.6 ms. The
cost is the claim's own transaction (BEGIN, claim, record, COMMIT instead of one
autocommit statement) and the extra rows written, not waiting: the ledger shares no row.

Then the bookkeeping moved into the write statements (data-modifying CTEs) and the
transactions into pipeline mode. Round trips per call, counting the pool's check on
checkout: claim 5 -> 2, ack 6 -> 3, keyless enqueue 6 -> 3, keyed enqueue 6 -> 4.
Alternating runs, load average 1.8-11, 6,000 jobs (``--loop-only --jobs 6000``); after
was ahead in 7 of 9 before/after pairs at each max_jobs (noise is of the same order):

    max_jobs= 1: before 182-411 jobs/s, after 260-396 jobs/s (paired medians 265 -> 327)
    max_jobs=10: before 1,193-2,847 jobs/s, after 1,966-3,012 jobs/s (2,004 -> 2,467)
    enqueue 1000 (median of 25): before 45-87 ms, after 43-77 ms (min 43-58 -> 36-45)
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any

from psycopg_pool import AsyncConnectionPool
from tests.support.postgres import fresh_database

from leaseq.core.commands import Ack
from leaseq.core.model import NewJob
from leaseq.server.storage import queries
from leaseq.server.storage.postgres import PostgresStorage

JOBS = 20_000
BATCH = 1000


async def enqueue_all(storage: PostgresStorage) -> float:
    """Returns the median ms of one 1000-job batch."""
    times = []
    for _ in range(JOBS // BATCH):
        start = time.perf_counter()
        await storage.enqueue([NewJob(payload='{"x": 1}') for _ in range(BATCH)])
        times.append((time.perf_counter() - start) * 1000)
    return sorted(times)[len(times) // 2]


async def claim_all(claim: Any, workers: int, max_jobs: int) -> float:
    """Claims every job with ``workers`` concurrent claimers; returns jobs per second."""
    count = 0

    async def worker(i: int) -> None:
        nonlocal count
        while jobs := await claim(["default"], f"w{i}", max_jobs, 60_000):
            count += len(jobs)

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(workers)))
    assert count == JOBS, count
    return count / (time.perf_counter() - start)


def ack_changes(jobs: list[Any]) -> list[Ack]:
    return [Ack(j.id, j.lease_token or "") for j in jobs]


async def claim_ack_loop(storage: PostgresStorage, workers: int, max_jobs: int) -> float:
    """Workers on a shared queue, each polling ``max_jobs`` and acking what it got, as a
    real worker fleet does; returns jobs done per second. Every claim and ack writes
    events, worker tallies and (if any) counters, so contention on shared rows shows here.
    """
    count = 0

    async def worker(i: int) -> None:
        nonlocal count
        while jobs := await storage.claim(["default"], f"w{i}", max_jobs, 60_000):
            await storage.modify(ack_changes(jobs))
            count += len(jobs)

    start = time.perf_counter()
    await asyncio.gather(*(worker(i) for i in range(workers)))
    assert count == JOBS, count
    return count / (time.perf_counter() - start)


async def run_sequential(url: str, jobs: int) -> None:
    """One worker, one job at a time: the median latency of a claim, an ack and a
    one-job enqueue, where round trips show more than under concurrency."""
    storage = PostgresStorage(url)
    await storage.open()
    times: dict[str, list[float]] = {"enqueue": [], "claim": [], "ack": []}

    async def timed(name: str, call: Any) -> Any:
        start = time.perf_counter()
        out = await call
        times[name].append((time.perf_counter() - start) * 1000)
        return out

    try:
        for _ in range(jobs):
            await timed("enqueue", storage.enqueue([NewJob(payload="{}")]))
            got = await timed("claim", storage.claim(["default"], "w", 1, 60_000))
            await timed("ack", storage.modify(ack_changes(got)))
    finally:
        await storage.close()
    medians = {k: sorted(v)[len(v) // 2] for k, v in times.items()}
    print("sequential, one worker: " + ", ".join(f"{k} {m:.2f} ms" for k, m in medians.items()))


async def run_loop(url: str, workers: int, max_jobs: int) -> None:
    storage = PostgresStorage(url)
    await storage.open()
    try:
        await enqueue_all(storage)
        rate = await claim_ack_loop(storage, workers, max_jobs)
    finally:
        await storage.close()
    print(f"claim+ack loop  workers={workers:2} max_jobs={max_jobs:2}: {rate:,.0f} jobs/s")


async def run_psycopg(url: str, workers: int, max_jobs: int, check: bool) -> None:
    original = AsyncConnectionPool.check_connection
    if not check:

        async def no_check(conn: Any) -> None:
            return None

        AsyncConnectionPool.check_connection = staticmethod(no_check)  # type: ignore[assignment]
    storage = PostgresStorage(url)
    await storage.open()
    try:
        batch_ms = await enqueue_all(storage)
        rate = await claim_all(storage.claim, workers, max_jobs)
        jobs = (await storage.list_jobs(None, None, BATCH, None)).jobs
        start = time.perf_counter()
        await storage.modify(ack_changes(jobs))
        ack_ms = (time.perf_counter() - start) * 1000
    finally:
        await storage.close()
        AsyncConnectionPool.check_connection = original  # type: ignore[method-assign]
    print(
        f"psycopg check={check!s:5} workers={workers:2} max_jobs={max_jobs:2}: "
        f"enqueue {batch_ms:.1f} ms/1000 jobs, claim {rate:,.0f} jobs/s, ack {ack_ms:.1f} ms/1000"
    )


async def run_asyncpg(url: str, workers: int, max_jobs: int) -> None:
    import asyncpg  # type: ignore[import-not-found]

    storage = PostgresStorage(url)
    await storage.open()
    await enqueue_all(storage)
    await storage.close()
    query = queries.load("leaseq.server.storage.postgres")["claim"]
    for i, name in enumerate(("queues", "n", "owner", "lease_ms", "now"), 1):
        query = query.replace(f"%({name})s", f"${i}")
    pool = await asyncpg.create_pool(url, min_size=2, max_size=16)

    async def claim(queues: list[str], owner: str, n: int, lease_ms: int) -> list[Any]:
        async with pool.acquire() as conn:
            return list(await conn.fetch(query, queues, n, owner, lease_ms, None))  # now: the db's

    try:
        rate = await claim_all(claim, workers, max_jobs)
    finally:
        await pool.close()
    print(f"asyncpg         workers={workers:2} max_jobs={max_jobs:2}: claim {rate:,.0f} jobs/s")


async def main() -> None:
    global JOBS  # a knob of this run, read by the loops above
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--asyncpg", action="store_true")
    parser.add_argument("--loop-only", action="store_true", help="only the claim+ack loops")
    parser.add_argument("--sequential", action="store_true", help="only one-worker latencies")
    parser.add_argument("--jobs", type=int, default=JOBS, help="jobs per run (multiple of 1000)")
    args = parser.parse_args()
    JOBS = args.jobs
    if args.sequential:
        with fresh_database(args.url) as url:
            await run_sequential(url, min(JOBS, 2000))
        return
    for workers, max_jobs in ((16, 1), (16, 10)):
        with fresh_database(args.url) as url:
            await run_loop(url, workers, max_jobs)
    if args.loop_only:
        return
    for workers, max_jobs in ((16, 1), (16, 10)):
        for check in (True, False):
            with fresh_database(args.url) as url:
                await run_psycopg(url, workers, max_jobs, check)
        if args.asyncpg:
            with fresh_database(args.url) as url:
                await run_asyncpg(url, workers, max_jobs)


if __name__ == "__main__":
    asyncio.run(main())
