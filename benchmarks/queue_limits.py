"""What queue settings cost the batched drain: no settings, a high ``concurrency`` (a
limited queue whose limit never binds), and a tight one.

Storage in this process, no HTTP, so the claim's own cost is what moves: workers claim
up to 100 jobs and ack them in one batch until the queue is empty. Scenarios alternate
for ``--rounds`` rounds on fresh stores and the medians are printed, one JSON line each,
so a busy machine's noise falls on every scenario alike.

    PYTHONPATH=. python benchmarks/queue_limits.py [--jobs 20000] [--rounds 5]
        [--durability full|normal] [--postgres postgresql://postgres@127.0.0.1:5432/test]

Measured on the shared 2-CPU dev machine (other engineers' tests running beside it,
load average 1.4-2.1, so rates swing by ~10% between runs), 10,000 jobs, medians of 5
alternating rounds, jobs/s and this process's CPU per job against no settings:

    sqlite full, 1 worker:  none 22,509 (40.8 us); concurrency 1e6 +2.7% (-1.5%);
                            concurrency 50 -15.7% (+16.5%)
    sqlite full, 8 workers: none 22,807 (42.6 us); concurrency 1e6 -8.9% (+9.5%);
                            concurrency 50 -44.2% (+76.4%)
    postgres, 1 worker:     none 7,106 (52.2 us); concurrency 1e6 +0.6% (-20.7%);
                            concurrency 50 -28.2% (+28.1%)
    postgres, 8 workers:    none 9,996 (45.2 us); concurrency 1e6 -9.6% (+16.8%);
                            concurrency 50 -65.5% (+164.8%)

(Before the limited PostgreSQL claim decoded its ``limits`` JSON once instead of on
every row, concurrency 1e6 cost -17% to -25% there.) A tight limit is slower by design:
workers find the queue full and come back.
A limited queue elsewhere (``paused_other_queue``) moved nothing beyond the noise on
either backend. On PostgreSQL a limited queue's claims take turns on its settings row
and run as a pipelined transaction of two statements instead of one autocommit
statement: that, not the counting, is the cost there.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.postgres import fresh_database

from leaseq.core.clock import SystemClock
from leaseq.core.commands import Ack
from leaseq.core.model import NewJob
from leaseq.core.queues import QueueChange
from leaseq.server.config import Durability
from leaseq.server.storage import Storage
from leaseq.server.storage.postgres import PostgresStorage
from leaseq.server.storage.sqlite import SQLiteStorage

WORKERS = 8
"""The drain runs with one worker (each claim's own cost, no waiting on others) and
with eight (claims and acks contend, as a fleet's do)."""
MAX_JOBS = 100
SCENARIOS: dict[str, QueueChange | None] = {
    "none": None,
    "concurrency_1000000": QueueChange(concurrency=1_000_000),
    "concurrency_50": QueueChange(concurrency=50),
    "paused_other_queue": None,  # a limited queue elsewhere: must not slow this one
}


async def drain(store: Storage, jobs: int, workers: int) -> tuple[float, float]:
    """(jobs per second, this process's CPU microseconds per job). On SQLite the CPU
    time is all of the store's work (the writer thread is in this process) and is much
    less disturbed by a busy machine than the rate; on PostgreSQL it leaves out the
    database server's."""
    for start in range(0, jobs, 1000):
        await store.enqueue([NewJob(payload='{"x": 1}') for _ in range(min(1000, jobs - start))])
    done = 0

    async def worker(i: int) -> None:
        nonlocal done
        for _ in range(jobs):  # bounded: a worker takes one job per round at least
            got = await store.claim(["default"], f"w{i}", MAX_JOBS, 60_000)
            if not got:
                if done >= jobs:
                    return
                await asyncio.sleep(0.0005)  # a tight limit: wait for the others' acks
                continue
            await store.modify([Ack(j.id, j.lease_token or "") for j in got])
            done += len(got)

    began, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(i) for i in range(workers)))
    assert done == jobs, done
    cpu_us = (time.process_time() - cpu) / jobs * 1e6
    return jobs / (time.perf_counter() - began), cpu_us


async def one_run(
    make: Callable[[], Storage], scenario: str, jobs: int, workers: int
) -> tuple[float, float]:
    store = make()
    await store.open()
    try:
        change = SCENARIOS[scenario]
        if change is not None:
            await store.update_queue("default", change)
        if scenario == "paused_other_queue":
            await store.update_queue("elsewhere", QueueChange(paused=True))
        return await drain(store, jobs, workers)
    finally:
        await store.close()


async def backend(
    name: str, makers: Callable[[], Callable[[], Storage]], args: argparse.Namespace
) -> None:
    for workers in (1, WORKERS):
        rates: dict[str, list[float]] = {s: [] for s in SCENARIOS}
        cpu: dict[str, list[float]] = {s: [] for s in SCENARIOS}
        for _ in range(args.rounds):
            for scenario in SCENARIOS:
                rate, cpu_us = await one_run(makers(), scenario, args.jobs, workers)
                rates[scenario].append(rate)
                cpu[scenario].append(cpu_us)
        base = statistics.median(rates["none"])
        base_cpu = statistics.median(cpu["none"])
        for scenario, values in rates.items():
            median = statistics.median(values)
            print(json.dumps({
                "backend": name, "workers": workers, "scenario": scenario,
                "jobs_per_s": round(median), "vs_none": f"{(median / base - 1) * 100:+.1f}%",
                "cpu_us_per_job": round(statistics.median(cpu[scenario]), 1),
                "cpu_vs_none": f"{(statistics.median(cpu[scenario]) / base_cpu - 1) * 100:+.1f}%",
                "runs": [round(v) for v in values],
            }))  # fmt: skip


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--durability", default="full", choices=["full", "normal"])
    parser.add_argument("--postgres", default=None, help="a server to make scratch databases on")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(10**6))

        def sqlite_maker() -> Callable[[], Storage]:
            path = str(Path(tmp) / f"bench{next(counter)}.db")
            return lambda: SQLiteStorage(path, SystemClock(), Durability(args.durability))

        await backend(f"sqlite-{args.durability}", sqlite_maker, args)
    if args.postgres:
        with fresh_database(args.postgres) as url:

            def pg_maker() -> Callable[[], Storage]:
                return lambda: PostgresStorage(url)

            await _pg_reset(url)
            await backend("postgres", _resetting(pg_maker, url), args)


def _resetting(
    maker: Callable[[], Callable[[], Storage]], url: str
) -> Callable[[], Callable[[], Storage]]:
    """Each PostgreSQL run starts from empty tables (one scratch database for all)."""

    def make() -> Callable[[], Storage]:
        import psycopg

        with psycopg.connect(url, autocommit=True) as conn:
            for table in ("jobs", "job_events", "job_counts", "workers", "queues", "queue_leases"):
                conn.execute(f"DELETE FROM {table}")
            conn.execute("VACUUM ANALYZE jobs")
        return maker()

    return make


async def _pg_reset(url: str) -> None:
    store = PostgresStorage(url)  # applies the migrations once
    await store.open()
    await store.close()


if __name__ == "__main__":
    asyncio.run(main())
