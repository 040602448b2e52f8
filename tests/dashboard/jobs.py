"""Puts jobs into given states through the public API, for the dashboard tests."""

from __future__ import annotations

import time
from typing import Any

import httpx


def enqueue(http: httpx.Client, queue: str, n: int, **spec: Any) -> list[str]:
    jobs = [{"queue": queue, "task": "t", "payload": {"n": i}, **spec} for i in range(n)]
    r = http.post("/enqueue", json={"jobs": jobs})
    assert r.status_code == 201, r.text
    return [j["id"] for j in r.json()["jobs"]]


def lease(http: httpx.Client, queue: str, n: int, worker: str = "w1") -> list[dict[str, Any]]:
    r = http.post("/poll", json={"worker_id": worker, "queues": [queue], "max_jobs": n})
    assert r.status_code == 200, r.text
    leased: list[dict[str, Any]] = r.json()["jobs"]
    assert len(leased) == n
    return leased


def finish(http: httpx.Client, queue: str, n: int) -> None:
    """Leases and acks n QUEUED jobs of the queue."""
    acks = [{"job_id": j["id"], "lease_token": j["lease_token"]} for j in lease(http, queue, n)]
    if acks:
        assert http.post("/ack", json={"acks": acks}).status_code == 200


def kill(
    http: httpx.Client, queue: str, errors: list[str], kind: tuple[str, str] | None = None
) -> list[str]:
    """Enqueues one job per error and fails it for good: DEAD with that last_error, and
    with ``kind`` (the exception's type and message) when given."""
    ids = enqueue(http, queue, len(errors), max_tries=1, priority=1000)
    for job, error in zip(lease(http, queue, len(errors)), errors, strict=True):
        body = {"job_id": job["id"], "lease_token": job["lease_token"], "error": error}
        if kind is not None:
            body |= {"error_type": kind[0], "error_message": kind[1]}
        assert http.post("/fail", json=body).json()["job"]["state"] == "DEAD"
    return ids


def traceback(n: int, kind: str, message: str) -> str:
    """A Python traceback as a worker sends it, its frames differing by ``n``."""
    return (
        "Traceback (most recent call last):\n"
        '  File "/srv/app/leaseq/client/worker.py", line 88, in run\n'
        "    value = fn(*args)\n"
        f'  File "/srv/app/tasks.py", line {10 + n}, in send\n'
        f"    raise {kind}({message!r})\n"
        f"{kind}: {message}\n"
    )


def state(http: httpx.Client, job_id: str) -> str:
    value: str = http.get(f"/jobs/{job_id}").json()["job"]["state"]
    return value


def expire(http: httpx.Client, queue: str, n: int) -> None:
    """Enqueues n jobs with one try and leases them for 1 s: the reaper makes them DEAD."""
    for start in range(0, n, 1000):
        enqueue(http, queue, min(1000, n - start), max_tries=1)
    for start in range(0, n, 100):
        body = {"worker_id": "w", "queues": [queue], "max_jobs": min(100, n - start)}
        assert len(http.post("/poll", json={**body, "lease_seconds": 1}).json()["jobs"])
    deadline = time.monotonic() + 10
    while http.get("/stats").json()["queues"][queue]["DEAD"] < n:
        assert time.monotonic() < deadline, "the reaper did not expire the leases"
        time.sleep(0.1)
