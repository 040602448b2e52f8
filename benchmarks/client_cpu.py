"""The Python client's CPU per call, sync and async, against a real ``leaseq serve``.

    python -m benchmarks.client_cpu [--calls 2000]

``time.process_time`` of this process around ``--calls`` sequential calls of each kind
(one-job enqueue, one-job poll, one ack, health): what the SDK itself costs a producer
or a worker per request, apart from the server. One JSON line per client and call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import leaseq
from benchmarks.peers.leaseq_peer import Server

QUEUE = "clientcpu"


def _row(client: str, call: str, n: int, cpu: float, wall: float) -> dict[str, Any]:
    per = 1e6 / n
    return {"client": client, "call": call, "calls": n,
            "client_cpu_us": round(cpu * per, 1), "wall_us": round(wall * per, 1)}  # fmt: skip


def measure_sync(url: str, n: int) -> list[dict[str, Any]]:
    rows = []
    with leaseq.Client(url) as c:
        leased: list[leaseq.Job] = []
        steps: list[tuple[str, Callable[[int], Any]]] = [
            ("enqueue", lambda i: c.enqueue({"i": i}, queue=QUEUE)),
            ("poll", lambda i: leased.extend(c.poll("cpu", [QUEUE]))),
            ("ack", lambda i: c.ack(leased[i].id, leased[i].lease_token or "")),
            ("health", lambda i: c.health()),
        ]
        c.health()  # the connection is open before the clock starts
        for name, step in steps:
            cpu, wall = time.process_time(), time.perf_counter()
            for i in range(n):
                step(i)
            rows.append(
                _row("sync", name, n, time.process_time() - cpu, time.perf_counter() - wall)
            )
    return rows


async def measure_async(url: str, n: int) -> list[dict[str, Any]]:
    rows = []
    async with leaseq.AsyncClient(url) as c:
        leased: list[leaseq.Job] = []

        async def poll(i: int) -> None:
            leased.extend(await c.poll("cpu", [QUEUE]))

        steps: list[tuple[str, Callable[[int], Awaitable[Any]]]] = [
            ("enqueue", lambda i: c.enqueue({"i": i}, queue=QUEUE)),
            ("poll", poll),
            ("ack", lambda i: c.ack(leased[i].id, leased[i].lease_token or "")),
            ("health", lambda i: c.health()),
        ]
        await c.health()
        for name, step in steps:
            cpu, wall = time.process_time(), time.perf_counter()
            for i in range(n):
                await step(i)
            rows.append(
                _row("async", name, n, time.process_time() - cpu, time.perf_counter() - wall)
            )
    return rows


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.client_cpu")
    p.add_argument("--calls", type=int, default=2000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="leaseq-clientcpu-") as tmp:
        server = Server(f"sqlite:///{tmp}/leaseq.db", Path(tmp) / "serve.log")
        try:
            rows = measure_sync(server.url, args.calls)
            rows += asyncio.run(measure_async(server.url, args.calls))
        finally:
            server.child.stop()
    for row in rows:
        print(json.dumps(row))


if __name__ == "__main__":
    main()
