"""The clients against a live server: every endpoint, and the error tree on the way back."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

import leaseq
from leaseq.client import AckSpec, AsyncClient, JobSpec, RetryPolicy
from leaseq.core.model import JobState
from tests.support.server import ServerProcess, free_port


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


def test_connection_refused_is_server_unavailable_after_bounded_retries() -> None:
    url = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with (
        leaseq.Client(url, retry=RetryPolicy(max_seconds=1)) as c,
        pytest.raises(leaseq.ServerUnavailable, match="cannot reach leaseq"),
    ):
        c.stats()
    assert 0.05 < time.monotonic() - started < 5  # retried, then gave up in time


def test_connection_refused_is_retried_until_the_server_is_back(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(start=False)
    with leaseq.Client(server.url, retry=RetryPolicy(max_seconds=20)) as c:
        starter = threading.Timer(0.5, server.start)
        starter.start()
        try:
            assert c.enqueue("late").state is JobState.QUEUED  # unsent: safe to repeat
        finally:
            starter.join()


async def test_async_client_against_live_server(server: ServerProcess) -> None:
    async with AsyncClient(server.url) as c:
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


async def test_long_poll_waits_for_a_job(server: ServerProcess) -> None:
    async with AsyncClient(server.url) as c:
        started = time.monotonic()
        assert await c.poll("w", ["empty"], wait=1.0) == []
        assert time.monotonic() - started >= 0.9


def test_task_payload_is_args_and_kwargs(server: ServerProcess) -> None:
    with leaseq.App(server.url) as app:

        @app.task(queue="emails", max_tries=5)
        def send_email(to: str, body: str) -> dict[str, str]:
            return {"to": to}

        job = send_email.enqueue("a@b.c", body="hi")
        assert (job.task, job.queue, job.max_tries) == ("send_email", "emails", 5)
        assert job.payload == {"args": ["a@b.c"], "kwargs": {"body": "hi"}}
        jobs = send_email.enqueue_many([("x@y.z", "one"), {"to": "p@q.r", "body": "two"}])
        assert [j.payload["args"] for j in jobs] == [["x@y.z", "one"], []]
        late = send_email.enqueue_with(delay=60, priority=5, idempotency_key="order-42")
        first = late("a@b.c", body="hi")
        assert first.priority == 5 and first.run_at > first.created_at
        assert late("a@b.c", body="hi").id == first.id
        assert send_email("direct", "call") == {"to": "direct"}
        with pytest.raises(ValueError, match="already registered"):
            app.task(name="send_email")(lambda: None)


# -- in-process transports: parsing and policy only, no behaviour of the server ---------


def _mock(handler) -> leaseq.Client:  # type: ignore[no-untyped-def]
    policy = RetryPolicy(max_seconds=0.5, initial=0.01, max_backoff=0.02)
    return leaseq.Client("http://leaseq.test", "s3cret", retry=policy,
                         transport=httpx.MockTransport(handler))  # fmt: skip


def test_bearer_token_is_sent() -> None:
    seen: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers.get("authorization"))
        return httpx.Response(200, json={"queues": {}})

    with _mock(handler) as c:
        assert c.stats() == {}
    assert seen == ["Bearer s3cret"]


def test_503_retried_only_for_safe_calls() -> None:
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.url.path)
        return httpx.Response(503, json={"error": {"code": "storage_unavailable", "message": "m"}})

    with _mock(handler) as c:
        with pytest.raises(leaseq.StorageUnavailable):
            c.stats()
        assert len(calls) > 1
        calls.clear()
        with pytest.raises(leaseq.ServerUnavailable):
            c.enqueue("no key")  # may have been applied: not repeated
        assert calls == ["/enqueue"]


def test_unknown_error_bodies_fall_back_on_status() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502 if request.url.path == "/stats" else 404, text="<html>")

    with _mock(handler) as c:
        with pytest.raises(leaseq.ServerUnavailable, match="HTTP 502"):
            c.stats()
        with pytest.raises(leaseq.InvalidRequest, match="HTTP 404"):
            c.cancel("x")
