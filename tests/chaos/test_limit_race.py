"""Racing claims of a limited queue on several nodes (storage objects on one PostgreSQL
database): 16 pollers, a queue limit of 3 and a key limit of 1, and the LEASED counts
sampled all along and replayed from the history afterwards never pass either limit;
every job is leased once and done. A queue without limits named in the same polls is
served meanwhile.

It does catch a claim that can be raced: with the queue's lock left out and the rows
picked ``FOR UPDATE SKIP LOCKED`` instead (the plain claim's way), the same run sampled
up to 11 LEASED (144 samples over the limit, 75 replayed events)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import Iterator

import pytest

from leaseq.core.commands import Ack
from leaseq.core.model import JobState, NewJob
from leaseq.core.queues import QueueChange
from leaseq.server.storage.postgres import PostgresStorage
from tests.chaos.limits import Sampler, replay
from tests.support.postgres import base_url, fresh_database, needs_postgres

pytestmark = needs_postgres

QUEUE, FREE = "limited", "free"
LIMIT, KEY_LIMIT = 3, 1
NODES, POLLERS = 4, 16


@pytest.fixture
def db_url() -> Iterator[str]:
    with fresh_database(base_url()) as url:
        yield url


def _specs(n: int) -> list[NewJob]:
    """Five keys, and one job in six without a key."""
    return [NewJob(payload=f'{{"n": {i}}}', queue=QUEUE,
                   concurrency_key=None if i % 6 == 0 else f"k{i % 5}")
            for i in range(n)]  # fmt: skip


async def _race(url: str, jobs: int, seed: int, timeout_s: float) -> dict[str, int]:
    nodes = [PostgresStorage(url) for _ in range(NODES)]
    for node in nodes:
        await node.open()
    try:
        await nodes[0].update_queue(QUEUE, QueueChange(concurrency=LIMIT, key_concurrency=1))
        await nodes[1].enqueue(_specs(jobs))
        await nodes[2].enqueue([NewJob(payload="{}", queue=FREE) for _ in range(jobs // 2)])
        leases: Counter[str] = Counter()
        deadline = time.monotonic() + timeout_s

        async def poller(i: int) -> None:
            node, rng = nodes[i % NODES], random.Random(seed + i)
            while time.monotonic() < deadline and len(leases) < jobs + jobs // 2:
                got = await node.claim([QUEUE, FREE], f"p{i}", rng.randint(1, 3), 60_000)
                if not got:
                    await asyncio.sleep(rng.uniform(0, 0.001))
                    continue
                leases.update(j.id for j in got)
                await asyncio.sleep(rng.uniform(0, 0.003))  # the work
                outcomes = await node.modify([Ack(j.id, j.lease_token or "") for j in got])
                assert all(getattr(o, "state", None) is JobState.DONE for o in outcomes)

        with Sampler(url, QUEUE, LIMIT, KEY_LIMIT) as sampler:
            await asyncio.gather(*(poller(i) for i in range(POLLERS)))
        stats = await nodes[0].stats()
    finally:
        for node in nodes:
            await node.close()
    history = replay(url, QUEUE, LIMIT, KEY_LIMIT)
    figures = {
        "samples": sampler.peaks.samples,
        "max_leased_sampled": sampler.peaks.max_leased,
        "max_per_key_sampled": sampler.peaks.max_per_key,
        "over_sampled": sampler.peaks.over,
        "over_replayed": history.over,
        "max_leased_replayed": history.max_leased,
        "done": stats[QUEUE].counts[JobState.DONE],
        "free_done": stats[FREE].counts[JobState.DONE],
        "leased_twice": sum(1 for n in leases.values() if n > 1),
    }
    print(f"\nlimit race: {figures}")
    return figures


@pytest.mark.timeout(120)
async def test_16_pollers_on_4_nodes_never_pass_the_limits(db_url: str) -> None:
    seed = random.randrange(2**31)
    print(f"seed {seed}")
    figures = await _race(db_url, 300, seed, 60)
    assert figures["over_sampled"] == 0 and figures["over_replayed"] == 0, figures
    assert figures["max_leased_replayed"] == LIMIT  # the limit was reached, and held
    assert (figures["done"], figures["free_done"], figures["leased_twice"]) == (300, 150, 0)
    assert figures["samples"] > 100
