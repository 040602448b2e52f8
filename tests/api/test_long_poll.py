"""Long polls wake within milliseconds of work becoming ready, and never busy-wait."""

from __future__ import annotations

import signal
import statistics
import threading
import time

import httpx

from tests.support.server import ServerProcess


def _poll_in_thread(url: str, body: dict[str, object], out: dict[str, object]) -> threading.Thread:
    def run() -> None:
        with httpx.Client(base_url=url, timeout=40) as http:
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
    server: ServerProcess, http: httpx.Client
) -> None:
    latencies = []
    for i in range(10):
        out: dict[str, object] = {}
        thread = _poll_in_thread(server.url, {"worker_id": "w", "queues": ["lp"], "wait": 10}, out)
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
    server: ServerProcess, http: httpx.Client
) -> None:
    out: dict[str, object] = {}
    http.post("/enqueue", json={"payload": 1, "queue": "later", "delay": 0.6})
    start = time.monotonic()
    thread = _poll_in_thread(server.url, {"worker_id": "w", "queues": ["later"], "wait": 10}, out)
    thread.join(10)
    waited = out["at"] - start  # type: ignore[operator]
    assert len(out["jobs"]) == 1  # type: ignore[arg-type]
    assert 0.4 <= waited < 1.0, waited


def test_a_retry_wakes_the_poller_when_its_backoff_ends(
    server: ServerProcess, http: httpx.Client
) -> None:
    http.post("/enqueue", json={"payload": 1, "queue": "r"})
    (job,) = http.post("/poll", json={"worker_id": "w", "queues": ["r"]}).json()["jobs"]
    out: dict[str, object] = {}
    thread = _poll_in_thread(server.url, {"worker_id": "w2", "queues": ["r"], "wait": 10}, out)
    time.sleep(0.1)
    failed_at = time.monotonic()
    http.post("/fail", json={"job_id": job["id"], "lease_token": job["lease_token"]})
    thread.join(10)
    assert [j["id"] for j in out["jobs"]] == [job["id"]]  # type: ignore[union-attr]
    assert out["at"] - failed_at < 1.0  # type: ignore[operator]  # backoff window is [0.1, 0.2] s


def test_sigterm_answers_long_polls_empty_and_exits_cleanly(server: ServerProcess) -> None:
    out: dict[str, object] = {}
    thread = _poll_in_thread(server.url, {"worker_id": "w", "wait": 30}, out)
    time.sleep(0.3)
    start = time.monotonic()
    # uvicorn re-raises SIGTERM after its graceful shutdown, the Unix convention for
    # "ended by this signal"; the log shows the lifespan (store close) completed.
    assert server.terminate() in (0, -signal.SIGTERM)
    thread.join(5)
    assert out["jobs"] == []
    assert time.monotonic() - start < 5
    assert "Application shutdown complete" in server.log()


def test_a_poller_that_hangs_up_does_not_keep_a_lease(
    server: ServerProcess, http: httpx.Client
) -> None:
    """The client gives up after 0.3 s; a job enqueued later must not be leased to it."""
    with httpx.Client(base_url=server.url, timeout=0.3) as impatient:
        try:
            impatient.post("/poll", json={"worker_id": "gone", "queues": ["hang"], "wait": 10})
        except httpx.ReadTimeout:
            pass
    time.sleep(0.2)
    http.post("/enqueue", json={"payload": 1, "queue": "hang"})
    (job,) = http.post("/poll", json={"worker_id": "here", "queues": ["hang"], "wait": 2}).json()[
        "jobs"
    ]
    assert job["lease_owner"] == "here" and job["attempts"] == 1
