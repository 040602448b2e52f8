"""Puts jobs into given states through the public API, for the dashboard tests."""

from __future__ import annotations

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


def kill(http: httpx.Client, queue: str, errors: list[str]) -> list[str]:
    """Enqueues one job per error and fails it for good: DEAD with that last_error."""
    ids = enqueue(http, queue, len(errors), max_tries=1, priority=1000)
    for job, error in zip(lease(http, queue, len(errors)), errors, strict=True):
        body = {"job_id": job["id"], "lease_token": job["lease_token"], "error": error}
        assert http.post("/fail", json=body).json()["job"]["state"] == "DEAD"
    return ids


def state(http: httpx.Client, job_id: str) -> str:
    value: str = http.get(f"/jobs/{job_id}").json()["job"]["state"]
    return value
