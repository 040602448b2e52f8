"""Concurrent enqueues sharing one client, against a real server over real HTTP: every
caller gets its own committed job, in fewer requests than jobs; a bad spec among them
fails its caller only; a key repeated by two concurrent callers makes one job."""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

import leaseq
from leaseq.core.model import JobState
from tests.support.server import ServerProcess

THREADS, PER_THREAD = 16, 40


def enqueue_requests(url: str) -> int:
    """``POST /enqueue`` requests the server has answered (its request histogram)."""
    text = httpx.get(f"{url}/metrics", timeout=10).text
    found = re.search(
        r'^leaseq_http_request_duration_seconds_count\{method="POST",route="/enqueue"\} (\S+)$',
        text, re.M,
    )  # fmt: skip
    return int(float(found[1])) if found else 0


def all_jobs(client: leaseq.Client, queue: str) -> list[leaseq.Job]:
    jobs, cursor = [], None
    for _ in range(100):
        page = client.list_jobs(queue=queue, limit=500, cursor=cursor)
        jobs += page.jobs
        if (cursor := page.next_cursor) is None:
            return jobs
    raise AssertionError("more pages than expected")


def test_threads_sharing_a_client_each_get_their_own_job(server: ServerProcess) -> None:
    before = enqueue_requests(server.url)
    with leaseq.Client(server.url) as client:

        def produce(t: int) -> list[tuple[int, leaseq.Job]]:
            return [
                (n, client.enqueue(n, queue="co")) for n in range(t * 1000, t * 1000 + PER_THREAD)
            ]

        with ThreadPoolExecutor(THREADS) as pool:
            answered = [pair for part in pool.map(produce, range(THREADS)) for pair in part]
        stored = {j.id: j for j in all_jobs(client, "co")}
    total = THREADS * PER_THREAD
    assert len(stored) == total == len({job.id for _, job in answered})
    assert all(stored[job.id].payload == n == job.payload for n, job in answered)
    requests = enqueue_requests(server.url) - before
    print(f"{total} enqueues from {THREADS} threads in {requests} requests")
    assert requests < total


async def test_async_callers_a_bad_spec_fails_only_its_caller(server: ServerProcess) -> None:
    async with leaseq.AsyncClient(server.url) as client:
        first = asyncio.create_task(client.enqueue("first", queue="aco"))
        await asyncio.sleep(0)
        calls = [client.enqueue(i, queue="aco") for i in range(50)]
        bad = client.enqueue("bad", queue="aco", max_tries=0)
        keyed = [client.enqueue(f"k{i}", queue="aco", idempotency_key="same") for i in range(2)]
        results = await asyncio.gather(first, *calls, bad, *keyed, return_exceptions=True)
    jobs, refused, (k1, k2) = results[1:51], results[51], results[52:]
    assert isinstance(refused, leaseq.InvalidRequest) and "max_tries" in refused.message
    assert [j.payload for j in jobs if isinstance(j, leaseq.Job)] == list(range(50))
    assert isinstance(k1, leaseq.Job) and isinstance(k2, leaseq.Job) and k1.id == k2.id
    with leaseq.Client(server.url) as sync:
        stored = all_jobs(sync, "aco")
    assert len(stored) == 52 and all(j.state is JobState.QUEUED for j in stored)
    assert "bad" not in [j.payload for j in stored]


def test_a_lone_enqueue_is_one_single_form_request(server: ServerProcess) -> None:
    payload = "one"
    before = enqueue_requests(server.url)
    with leaseq.Client(server.url) as client:
        with pytest.raises(leaseq.InvalidRequest, match=r"at `\$\.max_tries`"):
            client.enqueue(payload, max_tries=0)
        assert client.enqueue(payload).payload == payload
    assert enqueue_requests(server.url) - before == 2
