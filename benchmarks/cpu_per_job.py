"""CPU time per job of the server and of an SDK client, for each step of the batched path.

    python -m benchmarks.cpu_per_job [--jobs 20000] [--batch 100]

Rates swing with whatever else runs on a 2-core machine; CPU seconds do much less. This
starts ``leaseq serve`` (SQLite, default durability) and, one call at a time from an
``AsyncClient`` in this process, enqueues ``--jobs`` in batches of 1,000, then polls and
acks them ``--batch`` at a time. Around each call it reads the server's CPU time from
``/proc`` and its own from ``time.process_time``, and prints the microseconds per job of
each step as one JSON line: where the time of the batched path goes, and how it moves.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import tempfile
import time
from pathlib import Path

import leaseq
from benchmarks.peers.leaseq_peer import QUEUE, Server, noop
from leaseq.client.models import AckSpec

TICK = os.sysconf("SC_CLK_TCK")


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process (its threads included)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Meter:
    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.server = self.client = 0.0

    async def __call__(self, call):  # type: ignore[no-untyped-def]
        s, c = _cpu_s(self.pid), time.process_time()
        out = await call
        self.server += _cpu_s(self.pid) - s
        self.client += time.process_time() - c
        return out


async def measure(url: str, pid: int, jobs: int, batch: int) -> dict[str, float]:
    async with leaseq.AsyncClient(url, timeout=60) as client:
        enq, poll, ack = Meter(pid), Meter(pid), Meter(pid)
        for start in range(0, jobs, 1000):
            specs = [noop.spec(noop.bind(i)) for i in range(start, min(start + 1000, jobs))]
            await enq(client.enqueue_many(specs))
        done = 0
        while done < jobs:
            leased = await poll(client.poll("cpu", [QUEUE], max_jobs=batch))
            if not leased:
                break
            await ack(client.ack_many([AckSpec(j.id, j.lease_token or "") for j in leased]))
            done += len(leased)
    per = 1e6 / max(done, 1)
    return {
        "jobs": done,
        "batch": batch,
        "server_enqueue_us": enq.server * per,
        "server_poll_us": poll.server * per,
        "server_ack_us": ack.server * per,
        "client_enqueue_us": enq.client * per,
        "client_poll_us": poll.client * per,
        "client_ack_us": ack.client * per,
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--jobs", type=int, default=20_000)
    p.add_argument("--batch", type=int, default=100)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="leaseq-cpu-") as tmp:
        server = Server(f"sqlite:///{tmp}/leaseq.db", Path(tmp) / "serve.log")
        try:
            result = asyncio.run(measure(server.url, server.child.pid, args.jobs, args.batch))
        finally:
            server.child.stop()
    print(json.dumps({k: round(v, 1) if isinstance(v, float) else v for k, v in result.items()}))


if __name__ == "__main__":
    main()
