"""Long polls wake within milliseconds of work becoming ready, and never busy-wait."""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
from starlette.applications import Starlette

from tests.support.inproc import InProcessServer


def _poll_in_thread(
    server: InProcessServer, body: dict[str, object], out: dict[str, object]
) -> threading.Thread:
    def run() -> None:
        with server.client(timeout=40) as http:
            r = http.post("/poll", json=body)
            out["jobs"] = r.json()["jobs"]
            out["at"] = time.monotonic()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_empty_long_poll_waits_then_answers_empty(http: httpx.Client) -> None:
    start = time.monotonic()
    r = http.post("/poll", json={"worker_id": "w", "wait": 0.5})
    elapsed = time.monotonic() - start
    assert r.json() == {"jobs": []}
    assert 0.45 <= elapsed < 2.0


def test_enqueue_wakes_a_waiting_poller_within_milliseconds(
    app_server: InProcessServer, http: httpx.Client
) -> None:
    latencies = []
    for i in range(10):
        out: dict[str, object] = {}
        thread = _poll_in_thread(app_server, {"worker_id": "w", "queues": ["lp"], "wait": 10}, out)
        time.sleep(0.15)  # let the poll arrive and start waiting
        sent = time.monotonic()
        assert http.post("/enqueue", json={"payload": i, "queue": "lp"}).status_code == 201
        thread.join(10)
        assert len(out["jobs"]) == 1  # type: ignore[arg-type]
        latencies.append(out["at"] - sent)  # type: ignore[operator]
    print(f"long-poll wake-up after enqueue: median {statistics.median(latencies) * 1000:.1f} ms,"
          f" max {max(latencies) * 1000:.1f} ms")  # fmt: skip
    # The enqueue answer itself is part of the interval; far below the 10 s wait.
    assert statistics.median(latencies) < 0.1


def test_a_delayed_job_wakes_the_poller_when_it_becomes_ready(
    app_server: InProcessServer, http: httpx.Client
) -> None:
    out: dict[str, object] = {}
    http.post("/enqueue", json={"payload": 1, "queue": "later", "delay": 0.6})
    start = time.monotonic()
    thread = _poll_in_thread(app_server, {"worker_id": "w", "queues": ["later"], "wait": 10}, out)
    thread.join(10)
    waited = out["at"] - start  # type: ignore[operator]
    assert len(out["jobs"]) == 1  # type: ignore[arg-type]
    assert 0.4 <= waited < 1.0, waited


def test_a_retry_wakes_the_poller_when_its_backoff_ends(
    app_server: InProcessServer, http: httpx.Client
) -> None:
    http.post("/enqueue", json={"payload": 1, "queue": "r"})
    (job,) = http.post("/poll", json={"worker_id": "w", "queues": ["r"]}).json()["jobs"]
    out: dict[str, object] = {}
    thread = _poll_in_thread(app_server, {"worker_id": "w2", "queues": ["r"], "wait": 10}, out)
    time.sleep(0.1)
    failed_at = time.monotonic()
    http.post("/fail", json={"job_id": job["id"], "lease_token": job["lease_token"]})
    thread.join(10)
    assert [j["id"] for j in out["jobs"]] == [job["id"]]  # type: ignore[union-attr]
    assert out["at"] - failed_at < 1.0  # type: ignore[operator]  # backoff window is [0.1, 0.2] s


@contextlib.asynccontextmanager
async def _hang_up_after(
    app: Starlette, body: dict[str, object], seconds: float
) -> AsyncIterator[None]:
    """Sends ``POST /poll`` straight to the ASGI app and, ``seconds`` later, the
    ``http.disconnect`` a server sends when its client goes away. (An httpx client that
    times out would cancel the app's task instead, which is not what a server does.)
    The request is left running, as a server would, until the block ends."""
    raw = msgspec.json.encode(body)
    hung_up = asyncio.Event()
    messages = iter([{"type": "http.request", "body": raw, "more_body": False}])

    async def receive() -> dict[str, Any]:
        if (message := next(messages, None)) is not None:
            return message
        await hung_up.wait()
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        pass

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": "/poll", "raw_path": b"/poll", "query_string": b"",
        "root_path": "", "client": ("127.0.0.1", 123), "server": ("test", 80),
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(raw)).encode())],
    }  # fmt: skip
    request = asyncio.create_task(app(scope, receive, send))  # type: ignore[arg-type]
    await asyncio.sleep(seconds)
    hung_up.set()
    try:
        yield
    finally:
        if not request.done():
            request.cancel()
        await asyncio.gather(request, return_exceptions=True)


async def test_a_poller_that_hangs_up_does_not_keep_a_lease(
    running_app: Starlette, ahttp: httpx.AsyncClient
) -> None:
    """The client gives up after 0.3 s; a job enqueued later must not be leased to it."""
    body = {"worker_id": "gone", "queues": ["hang"], "wait": 10}
    async with _hang_up_after(running_app, body, 0.3):
        await asyncio.sleep(0.2)
        await ahttp.post("/enqueue", json={"payload": 1, "queue": "hang"})
        # Over a socket the next poll comes a round trip later; in-process it would run
        # before the woken poll, so a poll still waiting for its caller could not win.
        await asyncio.sleep(0.1)
        (job,) = (
            await ahttp.post("/poll", json={"worker_id": "here", "queues": ["hang"], "wait": 2})
        ).json()["jobs"]
        assert job["lease_owner"] == "here" and job["attempts"] == 1
