"""Finding jobs by tag and task, and what finishing jobs costs now that it wakes waits.

Usage (from the repository root):
    PYTHONPATH=. python benchmarks/find_jobs.py listing [--pg URL]
    PYTHONPATH=. python benchmarks/find_jobs.py acks --pg URL

``listing``: the first page (100) of ``GET /jobs?tag=rare``, of ``?tag=rare&tag=pin``
and of ``?task=rare`` (storage ``list_jobs``, median of 20) while the store holds 0,
10,000 and 100,000 jobs without that tag or task; 500 jobs carry it throughout. A cost
that does not grow with the unrelated jobs is the point (``tests/storage/
test_find_plans.py`` checks the plans). ``acks``: batch acks of 1000 jobs on PostgreSQL
(median ms of 10), the statement that now also sends ``NOTIFY leaseq_finished`` (one per
200 ids); run it with ``PYTHONPATH`` on an older tree to compare.

Measured on the 2-CPU dev machine (shared with three other engineers' test runs, so the
noise is large), PostgreSQL 15 on the same host, see docs/finding.md for the numbers.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tests.support.postgres import fresh_database

from leaseq.core.clock import SystemClock
from leaseq.core.commands import Ack
from leaseq.core.model import JobRecord, NewJob
from leaseq.server.storage import Storage
from leaseq.server.storage.postgres import PostgresStorage
from leaseq.server.storage.sqlite import SQLiteStorage

RELATED = 500
STEPS = (0, 10_000, 100_000)


async def _fill(storage: Storage, n: int, **kw: Any) -> None:
    for start in range(0, n, 1000):
        await storage.enqueue([NewJob(payload="{}", **kw) for _ in range(min(1000, n - start))])


async def _median_ms(storage: Storage, **match: Any) -> float:
    from leaseq.core.model import JobFilter

    times = []
    for _ in range(20):
        start = time.perf_counter()
        page = await storage.list_jobs(None, None, 100, None, match=JobFilter(**match))
        times.append((time.perf_counter() - start) * 1000)
        assert len(page.jobs) == 100
    return statistics.median(times)


async def listing(storage: Storage, name: str) -> None:
    await storage.open()
    try:
        await _fill(storage, RELATED, task="rare", tags=("rare", "pin"))
        have = 0
        for step in STEPS:
            await _fill(storage, step - have, task="common", tags=("hay",))
            have = step
            tag = await _median_ms(storage, tags=("rare",))
            two = await _median_ms(storage, tags=("rare", "pin"))
            task = await _median_ms(storage, task="rare")
            print(f"{name:8} unrelated={step:>7,}: tag {tag:6.2f} ms, two tags {two:6.2f} ms,"
                  f" task {task:6.2f} ms (first page of 100)")  # fmt: skip
    finally:
        await storage.close()


async def acks(url: str) -> None:
    storage = PostgresStorage(url)
    await storage.open()
    try:
        times = []
        for _ in range(10):
            await storage.enqueue([NewJob(payload="{}", queue="a") for _ in range(1000)])
            leased: list[JobRecord] = []
            while len(leased) < 1000:
                leased += await storage.claim(["a"], "w", 100, 60_000)
            start = time.perf_counter()
            await storage.modify([Ack(j.id, j.lease_token or "", None) for j in leased])
            times.append((time.perf_counter() - start) * 1000)
        print(f"ack 1000: median {statistics.median(times):.1f} ms, min {min(times):.1f} ms")
    finally:
        await storage.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["listing", "acks"])
    parser.add_argument("--pg", help="a PostgreSQL URL (a scratch database is made in it)")
    args = parser.parse_args()
    if args.what == "listing":
        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "find.db")
            asyncio.run(listing(SQLiteStorage(path, SystemClock()), "sqlite"))
    if args.pg:
        with fresh_database(args.pg) as url:
            if args.what == "listing":
                asyncio.run(listing(PostgresStorage(url), "postgres"))
            else:
                asyncio.run(acks(url))


if __name__ == "__main__":
    main()
