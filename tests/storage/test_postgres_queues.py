"""What only PostgreSQL promises about queue settings: every node sees them at once, a
freed slot or a resume on one node wakes the long polls of another, and the database's
own clock drives the rate window when no clock is injected."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import pytest

from leaseq.core.commands import Ack
from leaseq.core.model import NewJob
from leaseq.core.queues import QueueChange, RateLimit
from leaseq.server.storage.postgres import PostgresStorage
from tests.support.postgres import base_url, fresh_database, needs_postgres

pytestmark = needs_postgres


@pytest.fixture
def db_url() -> Iterator[str]:
    with fresh_database(base_url()) as url:
        yield url


@pytest.fixture
async def nodes(
    db_url: str,
) -> AsyncIterator[tuple[PostgresStorage, PostgresStorage, asyncio.Queue[list[str]]]]:
    """Node A, and node B whose wake-ups land in the queue of the answer."""
    woken: asyncio.Queue[list[str]] = asyncio.Queue()
    a, b = PostgresStorage(db_url), PostgresStorage(db_url)
    b.set_wakeup(woken.put_nowait)
    await a.open()
    await b.open()
    yield a, b, woken
    await a.close()
    await b.close()


async def _next_wake(woken: asyncio.Queue[list[str]], queue: str) -> None:
    async with asyncio.timeout(2):
        while await woken.get() != [queue]:
            pass


Nodes = tuple[PostgresStorage, PostgresStorage, asyncio.Queue[list[str]]]


async def test_a_pause_on_one_node_holds_the_claims_of_another(nodes: Nodes) -> None:
    a, b, _ = nodes
    await a.enqueue([NewJob(payload="1", queue="q")])
    await a.update_queue("q", QueueChange(paused=True))
    assert await b.claim(["q"], "w", 5, 60_000) == []  # b never saw q limited before
    await a.update_queue("q", QueueChange(paused=False))
    assert len(await b.claim(["q"], "w", 5, 60_000)) == 1


async def test_a_resume_on_one_node_wakes_another(nodes: Nodes) -> None:
    a, _, woken = nodes
    await a.update_queue("q", QueueChange(paused=True))
    await a.update_queue("q", QueueChange(paused=False))
    await _next_wake(woken, "q")


async def test_an_ack_that_frees_a_slot_wakes_another_node(nodes: Nodes) -> None:
    a, _, woken = nodes
    await a.update_queue("q", QueueChange(concurrency=1))
    await a.enqueue([NewJob(payload="1", queue="q"), NewJob(payload="2", queue="q")])
    await _next_wake(woken, "q")  # the enqueue's own
    (job,) = await a.claim(["q"], "w", 5, 60_000)
    await asyncio.sleep(0.1)
    assert woken.empty()
    await a.modify([Ack(job.id, job.lease_token or "")])
    await _next_wake(woken, "q")


async def test_an_ack_in_a_queue_without_limits_wakes_nobody(nodes: Nodes) -> None:
    a, _, woken = nodes
    await a.enqueue([NewJob(payload="1", queue="free")])
    await _next_wake(woken, "free")  # the enqueue's
    (job,) = await a.claim(["free"], "w", 5, 60_000)
    await a.modify([Ack(job.id, job.lease_token or "")])
    await asyncio.sleep(0.2)
    assert woken.empty()


async def test_the_rate_window_runs_on_the_database_clock(nodes: Nodes) -> None:
    a, b, _ = nodes
    await a.enqueue([NewJob(payload=str(i), queue="r") for i in range(3)])
    await a.update_queue("r", QueueChange(rate_limit=RateLimit(1, 300)))
    assert len(await a.claim(["r"], "w", 3, 60_000)) == 1
    assert await b.claim(["r"], "w", 3, 60_000) == []
    wait = await b.next_ready_in(["r"])
    assert wait is not None and 0 < wait <= 0.3
    await asyncio.sleep(wait + 0.02)
    assert len(await b.claim(["r"], "w", 3, 60_000)) == 1
