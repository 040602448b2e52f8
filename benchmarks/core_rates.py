"""Enqueue and poll+ack rates of one ``leaseq serve`` on SQLite (durable by default).

Starts a real server on a temporary file, drives it over loopback HTTP from asyncio
clients in this process, prints one JSON line per scenario. The client shares the
machine with the server, so on a 2-core box the numbers are a floor, not a ceiling.

    python benchmarks/core_rates.py [--jobs 20000] [--concurrency 32]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.server import ServerProcess


async def _gather_loops(n: int, make_loop) -> None:  # type: ignore[no-untyped-def]
    await asyncio.gather(*(make_loop(i) for i in range(n)))


async def enqueue_single(url: str, jobs: int, concurrency: int) -> float:
    per = jobs // concurrency
    async with httpx.AsyncClient(
        base_url=url, limits=httpx.Limits(max_connections=concurrency)
    ) as c:

        async def loop(_: int) -> None:
            for i in range(per):
                r = await c.post("/enqueue", json={"payload": {"i": i}, "queue": "single"})
                assert r.status_code == 201

        start = time.perf_counter()
        await _gather_loops(concurrency, loop)
        return per * concurrency / (time.perf_counter() - start)


async def enqueue_batch(url: str, jobs: int, batch: int = 1000) -> float:
    async with httpx.AsyncClient(base_url=url, timeout=60) as c:
        body = {"jobs": [{"payload": {"i": i}, "queue": "batch"} for i in range(batch)]}
        start = time.perf_counter()
        for _ in range(jobs // batch):
            assert (await c.post("/enqueue", json=body)).status_code == 201
        return jobs // batch * batch / (time.perf_counter() - start)


async def drain(url: str, queue: str, concurrency: int, max_jobs: int) -> float:
    done = 0
    async with httpx.AsyncClient(
        base_url=url, timeout=60, limits=httpx.Limits(max_connections=concurrency)
    ) as c:

        async def loop(i: int) -> None:
            nonlocal done
            while True:
                r = await c.post(
                    "/poll", json={"worker_id": f"b{i}", "queues": [queue], "max_jobs": max_jobs}
                )
                jobs = r.json()["jobs"]
                if not jobs:
                    return
                acks = [{"job_id": j["id"], "lease_token": j["lease_token"]} for j in jobs]
                body = acks[0] if max_jobs == 1 else {"acks": acks}
                assert (await c.post("/ack", json=body)).status_code == 200
                done += len(jobs)

        start = time.perf_counter()
        await _gather_loops(concurrency, loop)
        return done / (time.perf_counter() - start)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--durability", default="full")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(f"sqlite:///{tmp}/bench.db", Path(tmp) / "log",
                               ["--durability", args.durability])  # fmt: skip
        server.start()
        try:
            n, k = args.jobs, args.concurrency
            results = {
                "enqueue_single_jobs_per_s": await enqueue_single(server.url, n // 4, k),
                "enqueue_batch1000_jobs_per_s": await enqueue_batch(server.url, n),
                "poll_ack_single_jobs_per_s": await drain(server.url, "single", k, 1),
                "poll_ack_batch100_jobs_per_s": await drain(server.url, "batch", 8, 100),
            }
        finally:
            server.kill()
    for name, value in results.items():
        print(json.dumps({"scenario": name, "value": round(value), "durability": args.durability}))


if __name__ == "__main__":
    asyncio.run(main())
