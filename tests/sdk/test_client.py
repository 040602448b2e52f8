"""The clients against real sockets (refused connections, a server that comes back), an
``App`` against a live server, and the client's policy over mock transports. Every
endpoint against the app is tested in-process (``tests/app/test_client.py``)."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

import leaseq
from leaseq.client import RetryPolicy
from leaseq.core.model import JobState
from tests.support.server import ServerProcess, free_port


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
