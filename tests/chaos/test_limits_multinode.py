"""Limits across server nodes, with node kills: three ``leaseq serve`` processes on one
PostgreSQL database, 16 pollers spread over them (long polls, so freed slots must wake
them through LISTEN/NOTIFY), a queue limit of 3 and a key limit of 1, and one node at a
time killed with SIGKILL and restarted. The LEASED counts are sampled continuously from
the database and replayed from the event history afterwards: over-limit moments 0, and
every job done (lost 0).

The settings and the keyed jobs go in through storage directly, as an operator's tool
would: this run is about the claims the nodes make, whatever the API in front of them.
Every loop is bounded in count and in time; the nodes are on loopback.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from leaseq.core.model import NewJob
from leaseq.core.queues import QueueChange
from leaseq.server.storage.postgres import PostgresStorage
from tests.chaos.conftest import MakeServer
from tests.chaos.limits import Sampler, replay
from tests.support.postgres import base_url, fresh_database
from tests.support.server import ServerProcess

pytestmark = pytest.mark.postgres

QUEUE = "steered"
LIMIT, KEY_LIMIT = 3, 1
POLLERS = 16
LEASE_S = 2  # a lease lost with its node runs out soon after


@dataclass(frozen=True)
class Size:
    jobs: int
    kills: int
    kill_every_s: float
    timeout_s: float


FAST = Size(jobs=240, kills=2, kill_every_s=2.0, timeout_s=60)
LONG = Size(jobs=3000, kills=12, kill_every_s=3.0, timeout_s=600)


async def _prepare(url: str, jobs: int) -> None:
    store = PostgresStorage(url)
    await store.open()
    try:
        await store.update_queue(QUEUE, QueueChange(concurrency=LIMIT, key_concurrency=1))
        specs = [NewJob(payload=f'{{"n": {i}}}', queue=QUEUE,
                        concurrency_key=None if i % 6 == 0 else f"k{i % 5}")
                 for i in range(jobs)]  # fmt: skip
        await store.enqueue(specs)
    finally:
        await store.close()


def _done(url: str) -> int:
    with psycopg.connect(url, connect_timeout=3) as conn:
        row = conn.execute(
            "SELECT count(*) FROM jobs WHERE queue = %s AND state = 'DONE'", (QUEUE,)
        ).fetchone()
    return int(row[0]) if row else 0


class Pollers:
    """16 threads that long-poll a node each, "work" a moment, ack; a node that is down
    sends its pollers to the next one."""

    def __init__(self, servers: list[ServerProcess], seed: int, deadline: float) -> None:
        self.servers = servers
        self.seed = seed
        self.deadline = deadline
        self.stop = threading.Event()
        self.tally: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.threads = [threading.Thread(target=self._main, args=(i,)) for i in range(POLLERS)]

    def _count(self, what: str, n: int = 1) -> None:
        with self._lock:
            self.tally[what] += n

    def _main(self, i: int) -> None:
        rng = random.Random(self.seed + i)
        node = i % len(self.servers)
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            try:
                with httpx.Client(base_url=self.servers[node].url, timeout=10) as http:
                    self._loop(http, rng, f"p{i}")
            except httpx.TransportError:
                self._count("transport_errors")
                node = (node + 1) % len(self.servers)
                time.sleep(0.05)

    def _loop(self, http: httpx.Client, rng: random.Random, worker: str) -> None:
        while not self.stop.is_set() and time.monotonic() < self.deadline:
            body = {"worker_id": worker, "queues": [QUEUE], "max_jobs": rng.randint(1, 3),
                    "wait": 1, "lease_seconds": LEASE_S}  # fmt: skip
            r = http.post("/poll", json=body)
            if r.status_code != 200:
                self._count(f"poll_{r.status_code}")
                time.sleep(0.05)
                continue
            jobs: list[dict[str, Any]] = r.json()["jobs"]
            if not jobs:
                continue
            self._count("leased", len(jobs))
            time.sleep(rng.uniform(0, 0.004))  # the work
            acks = [{"job_id": j["id"], "lease_token": j["lease_token"]} for j in jobs]
            results = http.post("/ack", json={"acks": acks}).json()["results"]
            self._count("acked", sum(1 for res in results if res["status"] == 200))

    def __enter__(self) -> Pollers:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        for t in self.threads:
            t.join(30)


def _run(nodes: MakeServer, seed: int, size: Size) -> dict[str, Any]:
    rng = random.Random(seed)
    kills = 0
    with fresh_database(base_url()) as url:
        asyncio.run(_prepare(url, size.jobs))
        servers = [nodes(url) for _ in range(3)]
        deadline = time.monotonic() + size.timeout_s
        with Sampler(url, QUEUE, LIMIT, KEY_LIMIT) as sampler, Pollers(servers, seed, deadline):
            for _ in range(size.kills):
                time.sleep(rng.uniform(0.5, 1.5) * size.kill_every_s)
                victim = servers[rng.randrange(len(servers))]
                victim.kill()
                kills += 1
                time.sleep(rng.uniform(0.1, 0.5))
                victim.start()
            while time.monotonic() < deadline and _done(url) < size.jobs:
                time.sleep(0.2)
        done = _done(url)
        history = replay(url, QUEUE, LIMIT, KEY_LIMIT)
    figures = {
        "jobs": size.jobs, "done": done, "lost": size.jobs - done, "kills": kills,
        "samples": sampler.peaks.samples, "max_leased_sampled": sampler.peaks.max_leased,
        "max_per_key_sampled": sampler.peaks.max_per_key, "over_sampled": sampler.peaks.over,
        "replayed_events": history.samples, "max_leased_replayed": history.max_leased,
        "over_replayed": history.over, "seed": seed,
    }  # fmt: skip
    print(f"\nchaos limits-multinode: {figures}")
    return figures


def _check(figures: dict[str, Any]) -> None:
    assert figures["over_sampled"] == 0 and figures["over_replayed"] == 0, figures
    assert figures["lost"] == 0, figures
    assert figures["max_leased_sampled"] <= LIMIT and figures["max_per_key_sampled"] <= 1


@pytest.mark.timeout(120)
def test_three_nodes_16_pollers_keep_the_limits_through_kills(
    nodes: MakeServer, seed: int, tmp_path: Path
) -> None:
    _check(_run(nodes, seed, FAST))


@pytest.mark.chaos
@pytest.mark.timeout(900)
def test_three_nodes_16_pollers_keep_the_limits_through_kills_long(
    nodes: MakeServer, seed: int, tmp_path: Path
) -> None:
    _check(_run(nodes, seed, LONG))
