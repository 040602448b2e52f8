"""What 1,000 schedules cost the reaper's scheduler step, when none is due and when all are.

The step is what ``Reaper.run_once`` runs each pass: ``QueueService.schedules.run`` in
batches of ``MAX_BATCH`` until a batch comes back short (so with 1,000 due it is one
batch and one probe that finds nothing). Each store runs on a fake clock, so "all due"
means the clock moved to the slot every schedule shares; each "all due" pass inserts
1,000 jobs with their events and runs, in one transaction (SQLite: with its fsync), so
each line also times a bulk enqueue of 1,000 keyed jobs on the same store: the floor.

Three sets of 1,000 schedules: ``every: 60`` (arithmetic only), one cron expression
shared by all (``*/5 * * * *``: cronsim's answer is cached per slot) and 1,000 distinct
cron expressions (every answer computed: the worst case).

Measured on the 2-CPU dev machine shared with other runs (load average 3-4), PostgreSQL
15 on the same host; medians, ms:

    backend   schedules                none due   all 1,000 due   bulk enqueue of 1,000
    sqlite    every 60 s                   0.03       44-76             18-36
    sqlite    cron, one expression         0.03       44                34
    sqlite    cron, 1,000 expressions      0.03       81-118            17
    postgres  every 60 s                   0.22-0.30  74-112            30
    postgres  cron, one expression         0.21-0.40  101-103           50
    postgres  cron, 1,000 expressions      0.30-0.32  137-191           48

The pass with nothing due (every pass but those on a shared slot) is far inside 10 ms:
one indexed probe. With all 1,000 due at once it is not: it costs about what enqueueing
the same 1,000 jobs costs (1.3-3 times a bulk enqueue: the slot guards, the runs and the
per-schedule rule on top), and each backend's job insert is the floor.

Usage (from the repository root; PostgreSQL is optional):
    PYTHONPATH=. python benchmarks/schedule_pass.py [postgresql://postgres@127.0.0.1:5432/test]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from tests.support.postgres import fresh_database

from leaseq.core.clock import FakeClock
from leaseq.core.limits import MAX_BATCH
from leaseq.core.model import NewJob
from leaseq.core.schedules import Cadence, ScheduleSpec
from leaseq.server.config import Settings
from leaseq.server.service import QueueService
from leaseq.server.storage import Storage
from leaseq.server.storage.postgres import PostgresStorage
from leaseq.server.storage.sqlite import SQLiteStorage

N = 1000
IDLE_PASSES = 200
DUE_PASSES = 10
START_MS = 1_800_000_000_000  # 2027-01-15 08:00 UTC, on a whole hour

CADENCES: dict[str, tuple[Callable[[int], Cadence], int]] = {
    # name: (cadence of schedule i, ms between two instants when all are due)
    "every 60 s": (lambda i: Cadence(every_ms=60_000), 60_000),
    "cron, one expression": (lambda i: Cadence(cron="*/5 * * * *"), 300_000),
    "cron, 1,000 expressions": (lambda i: Cadence(cron=f"{i % 60} {i // 60} * * *"), 86_400_000),
}


async def _pass(service: QueueService) -> tuple[float, int]:
    start = time.perf_counter()
    taken = 0
    while len(got := await service.schedules.run(MAX_BATCH)) == MAX_BATCH:
        taken += len(got)
    return (time.perf_counter() - start) * 1000, taken + len(got)


async def measure(storage: Storage, clock: FakeClock, cadence: str) -> str:
    make, period = CADENCES[cadence]
    service = QueueService(storage, Settings())
    for i in range(N):
        job = NewJob(payload=f'{{"n":{i}}}', queue="scheduled")
        await storage.put_schedule(ScheduleSpec(f"s{i:04d}", make(i), job))
    idle = [(await _pass(service))[0] for _ in range(IDLE_PASSES)]
    due: list[float] = []
    for _ in range(DUE_PASSES):
        clock.advance(period / 1000)  # every schedule has one slot due
        ms, taken = await _pass(service)
        assert taken == N, f"{taken} of {N} taken"
        due.append(ms)
    bulk: list[float] = []
    for k in range(DUE_PASSES):  # the floor: the same 1,000 jobs as one bulk enqueue
        specs = [NewJob(payload="{}", queue="bulk", idempotency_key=f"{k}-{i}") for i in range(N)]
        start = time.perf_counter()
        await storage.enqueue(specs)
        bulk.append((time.perf_counter() - start) * 1000)
    return (
        f"{cadence:<24} none due: median {statistics.median(idle):6.2f} ms"
        f" (p90 {sorted(idle)[int(len(idle) * 0.9)]:6.2f})   all {N} due: median"
        f" {statistics.median(due):7.2f} ms (min {min(due):7.2f}, max {max(due):7.2f});"
        f" a bulk enqueue of {N} keyed jobs: median {statistics.median(bulk):6.2f} ms"
    )


async def run_backend(backend: str, pg_url: str | None) -> None:
    for cadence in CADENCES:
        clock = FakeClock(START_MS)
        if backend == "sqlite":
            with tempfile.TemporaryDirectory() as tmp:
                storage: Storage = SQLiteStorage(str(Path(tmp) / "bench.db"), clock)
                await storage.open()
                try:
                    print(f"sqlite   {await measure(storage, clock, cadence)}", flush=True)
                finally:
                    await storage.close()
            continue
        assert pg_url is not None
        with fresh_database(pg_url) as url:
            storage = PostgresStorage(url, clock)
            await storage.open()
            try:
                print(f"postgres {await measure(storage, clock, cadence)}", flush=True)
            finally:
                await storage.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("postgres_url", nargs="?", help="a server where databases may be made")
    args = parser.parse_args()
    asyncio.run(run_backend("sqlite", None))
    if args.postgres_url:
        asyncio.run(run_backend("postgres", args.postgres_url))


if __name__ == "__main__":
    main()
