"""``GET /stats/history`` in process: the minutes of outcomes the node counted."""

from __future__ import annotations

import httpx

from tests.app.conftest import MakeServer
from tests.support.inproc import FAST


def _leased(http: httpx.Client, n: int, max_tries: int) -> list[dict[str, str]]:
    jobs = [{"payload": i, "max_tries": max_tries} for i in range(n)]
    assert http.post("/enqueue", json={"jobs": jobs}).status_code == 201
    body = {"worker_id": "w", "queues": ["default"], "max_jobs": n}
    leased: list[dict[str, str]] = http.post("/poll", json=body).json()["jobs"]
    return leased


def test_history_counts_done_failed_and_dead_apart(http: httpx.Client) -> None:
    for job in _leased(http, 3, 5):
        http.post("/ack", json={"job_id": job["id"], "lease_token": job["lease_token"]})
    retried, dead = _leased(http, 2, 1)
    http.post("/fail", json={"job_id": dead["id"], "lease_token": dead["lease_token"]})
    http.post(
        "/fail",
        json={"job_id": retried["id"], "lease_token": retried["lease_token"], "retry": True},
    )  # fmt: skip  (max_tries 1: DEAD too)
    again = _leased(http, 1, 3)[0]
    http.post("/fail", json={"job_id": again["id"], "lease_token": again["lease_token"]})
    r = http.get("/stats/history", params={"minutes": 5})
    assert r.status_code == 200, r.text
    minutes = r.json()["minutes"]
    assert len(minutes) == 5
    assert minutes[0]["at"] < minutes[-1]["at"] and minutes[-1]["at"].endswith(":00.000Z")
    totals = {k: sum(m[k] for m in minutes) for k in ("done", "failed", "dead")}
    assert totals == {"done": 3, "failed": 1, "dead": 2}  # DEAD is not throughput


def test_history_default_and_bounds(http: httpx.Client) -> None:
    assert len(http.get("/stats/history").json()["minutes"]) == 30
    assert len(http.get("/stats/history", params={"minutes": 60}).json()["minutes"]) == 60
    assert http.get("/stats/history", params={"minutes": 61}).status_code == 422
    assert http.get("/stats/history", params={"minutes": 0}).status_code == 422


def test_history_is_in_the_openapi_document(http: httpx.Client) -> None:
    doc = http.get("/openapi.json").json()
    assert "get" in doc["paths"]["/stats/history"]


def test_history_needs_a_read_token(app_server_factory: MakeServer) -> None:
    secured = app_server_factory(**FAST, tokens=("read:r-secret", "the-admin"))
    with secured.client() as http:
        assert http.get("/stats/history").status_code == 401
        r = http.get("/stats/history", headers={"Authorization": "Bearer r-secret"})
        assert r.status_code == 200
