"""Single enqueues from many callers in one process: each with its own client, or all
sharing one (whose concurrent enqueues coalesce, ``leaseq.client.coalescing``).

    python -m benchmarks.coalescing [--jobs 8000] [--callers 1,4,16,64]

Starts ``leaseq serve`` (SQLite, durable default) and, for each number of callers, sends
``--jobs`` one-job enqueues from: threads with a ``Client`` each; threads sharing one
``Client``; asyncio tasks sharing one ``AsyncClient``. Prints jobs/s and the server's
``POST /enqueue`` requests per job (its request histogram), one JSON line per row.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

import leaseq
from benchmarks.peers.leaseq_peer import Server

QUEUE = "coalesce"
_COUNT = re.compile(
    r'^leaseq_http_request_duration_seconds_count\{method="POST",route="/enqueue"\} (\S+)$', re.M
)


def enqueue_requests(url: str) -> int:
    found = _COUNT.search(httpx.get(f"{url}/metrics", timeout=10).text)
    return int(float(found[1])) if found else 0


def threads(url: str, callers: int, jobs: int, shared: bool) -> float:
    """Seconds for ``jobs`` enqueues from ``callers`` threads (their clients opened first)."""
    one = leaseq.Client(url) if shared else None
    clients = [one or leaseq.Client(url) for _ in range(callers)]
    for c in set(clients):
        c.health()
    per = jobs // callers

    def produce(c: leaseq.Client) -> None:
        for i in range(per):
            c.enqueue(i, queue=QUEUE)

    try:
        with ThreadPoolExecutor(callers) as pool:
            start = time.perf_counter()
            list(pool.map(produce, clients))
            return time.perf_counter() - start
    finally:
        for c in set(clients):
            c.close()


async def tasks(url: str, callers: int, jobs: int) -> float:
    async with leaseq.AsyncClient(url) as c:
        await c.health()
        per = jobs // callers

        async def produce() -> None:
            for i in range(per):
                await c.enqueue(i, queue=QUEUE)

        start = time.perf_counter()
        await asyncio.gather(*(produce() for _ in range(callers)))
        return time.perf_counter() - start


def row(url: str, kind: str, callers: int, jobs: int) -> dict[str, Any]:
    runs: dict[str, Callable[[], float]] = {
        "a Client per thread": lambda: threads(url, callers, jobs, shared=False),
        "one Client, threads": lambda: threads(url, callers, jobs, shared=True),
        "one AsyncClient, tasks": lambda: asyncio.run(tasks(url, callers, jobs)),
    }
    before = enqueue_requests(url)
    seconds = runs[kind]()
    sent = (jobs // callers) * callers
    per_job = (enqueue_requests(url) - before) / sent
    return {"callers": callers, "clients": kind, "jobs": sent,
            "jobs_per_s": round(sent / seconds), "requests_per_job": round(per_job, 3)}  # fmt: skip


KINDS = ("a Client per thread", "one Client, threads", "one AsyncClient, tasks")


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.coalescing")
    p.add_argument("--jobs", type=int, default=8000)
    p.add_argument("--callers", default="1,4,16,64")
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="leaseq-coalescing-") as tmp:
        server = Server(f"sqlite:///{tmp}/leaseq.db", Path(tmp) / "serve.log")
        url, n = server.url, args.jobs
        try:
            for callers in (int(c) for c in args.callers.split(",")):
                for kind in KINDS:
                    print(json.dumps(row(url, kind, callers, n)), flush=True)
        finally:
            server.child.stop()


if __name__ == "__main__":
    main()
