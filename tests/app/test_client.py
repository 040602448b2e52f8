"""The SDK's clients against the app in-process, through their ``transport=`` seam:
every endpoint, and the error tree on the way back."""

from __future__ import annotations

import time

import httpx
import pytest
from starlette.applications import Starlette

import leaseq
from leaseq.client import AckSpec, AsyncClient, JobSpec
from leaseq.core.model import JobState
from tests.support.inproc import BASE_URL


def test_enqueue_poll_heartbeat_ack(client: leaseq.Client) -> None:
    job = client.enqueue({"n": 1}, queue="q", task="t", priority=3, max_tries=2)
    assert (job.state, job.payload, job.task, job.priority) == (JobState.QUEUED, {"n": 1}, "t", 3)
    assert job.lease_token is None and job.created_at.tzinfo is not None
    (leased,) = client.poll("w", ["q"], max_jobs=5, lease_seconds=5)
    assert leased.id == job.id and leased.lease_token and leased.attempts == 1
    beat = client.heartbeat(job.id, leased.lease_token, lease_seconds=60)
    assert beat.lease_expires_at is not None and beat.lease_expires_at > leased.lease_expires_at  # type: ignore[operator]
    ok, stale = client.heartbeat_many([(job.id, leased.lease_token), (job.id, "old")], 120)
    assert ok.job is not None and ok.job.lease_expires_at > beat.lease_expires_at  # type: ignore[operator]
    assert isinstance(stale.error, leaseq.LeaseLost) and stale.job is None
    done = client.ack(job.id, leased.lease_token, {"ok": True})
    assert (done.state, done.result) == (JobState.DONE, {"ok": True})
    assert client.ack(job.id, leased.lease_token, {"ok": True}).state is JobState.DONE
    assert client.get_job(job.id).result == {"ok": True}


def test_batch_enqueue_and_ack(client: leaseq.Client) -> None:
    jobs = client.enqueue_many([JobSpec(payload=i, queue="b") for i in range(3)])
    assert [j.payload for j in jobs] == [0, 1, 2]
    leased = client.poll("w", ["b"], max_jobs=3)
    assert len(leased) == 3
    acks = [AckSpec(j.id, j.lease_token or "", j.payload) for j in leased]
    outcomes = client.ack_many([*acks, AckSpec(leased[0].id, "stale")])
    assert [o.error for o in outcomes[:3]] == [None, None, None]
    assert isinstance(outcomes[3].error, leaseq.LeaseLost)


def test_idempotency_key_returns_the_same_job(client: leaseq.Client) -> None:
    first = client.enqueue("x", idempotency_key="order-42")
    assert client.enqueue("x", idempotency_key="order-42").id == first.id


def test_fail_release_dead_requeue_cancel_list_stats(client: leaseq.Client) -> None:
    a, b = client.enqueue_many([JobSpec(payload="a", queue="f"), JobSpec(payload="b", queue="f")])
    la, lb = client.poll("w", ["f"], max_jobs=2)
    dead = client.fail(la.id, la.lease_token or "", "broken", retry=False)
    assert (dead.state, dead.last_error) == (JobState.DEAD, "broken")
    released = client.release(lb.id, lb.lease_token or "")
    assert (released.state, released.attempts) == (JobState.QUEUED, 0)
    assert [j.id for j in client.list_dead(queue="f").jobs] == [la.id]
    assert {j.id for j in client.list_jobs(queue="f").jobs} == {a.id, b.id}
    page = client.list_jobs(queue="f", limit=1)
    assert len(page.jobs) == 1 and page.next_cursor is not None
    assert (
        client.list_jobs(queue="f", limit=1, cursor=page.next_cursor).jobs[0].id != page.jobs[0].id
    )
    assert client.list_jobs(state="DEAD").jobs[0].id == la.id
    assert client.requeue_dead([la.id]) == 1
    assert client.cancel(la.id).state is JobState.CANCELLED
    stats = client.stats()["f"]
    assert (stats.QUEUED, stats.CANCELLED) == (1, 1)
    assert client.health().status == "ok"


def test_events_in_pages(client: leaseq.Client) -> None:
    job = client.enqueue("x", queue="ev")
    (leased,) = client.poll("w", ["ev"])
    client.fail(leased.id, leased.lease_token or "", "boom", retry=False)
    first = client.events(job.id, limit=2)
    assert [e.kind for e in first.events] == ["enqueued", "leased"]
    assert first.next_cursor is not None and first.events[1].worker_id == "w"
    rest = client.events(job.id, limit=2, cursor=first.next_cursor)
    assert [(e.kind, e.state, e.error) for e in rest.events] == [("dead", JobState.DEAD, "boom")]
    assert rest.next_cursor is None and rest.events[0].at.tzinfo is not None
    with pytest.raises(leaseq.JobNotFound):
        client.events("no-such-job")
    with pytest.raises(leaseq.InvalidRequest, match="cursor"):
        client.events(job.id, cursor="bogus")


def test_server_errors_map_to_the_error_tree(client: leaseq.Client) -> None:
    job = client.enqueue("x")
    with pytest.raises(leaseq.JobNotFound):
        client.get_job("no-such-job")
    with pytest.raises(leaseq.LeaseLost):
        client.heartbeat(job.id, "not-the-token")
    with pytest.raises(leaseq.InvalidRequest, match="queue"):
        client.enqueue("x", queue="no spaces allowed")
    client.cancel(job.id)
    with pytest.raises(leaseq.InvalidTransition):
        client.cancel(job.id)
    with pytest.raises(leaseq.InvalidRequest):
        client.requeue_dead()  # neither ids nor queue


async def test_async_client_against_the_app(running_app: Starlette) -> None:
    async with AsyncClient(BASE_URL, transport=httpx.ASGITransport(running_app)) as c:
        job = await c.enqueue({"a": 1}, queue="aq")
        (leased,) = await c.poll("w", ["aq"], wait=1)
        assert leased.id == job.id
        assert (await c.ack(job.id, leased.lease_token or "", 7)).result == 7
        with pytest.raises(leaseq.JobNotFound):
            await c.get_job("missing")
        assert "aq" in await c.stats()
        page = await c.events(job.id, limit=2)
        assert [e.kind for e in page.events] == ["enqueued", "leased"]
        rest = await c.events(job.id, cursor=page.next_cursor)
        assert [e.kind for e in rest.events] == ["done"] and rest.next_cursor is None


async def test_long_poll_waits_for_a_job(running_app: Starlette) -> None:
    async with AsyncClient(BASE_URL, transport=httpx.ASGITransport(running_app)) as c:
        started = time.monotonic()
        assert await c.poll("w", ["empty"], wait=1.0) == []
        assert time.monotonic() - started >= 0.9
