"""The job lifecycle over HTTP, against the app in-process (fast retries and reaping)."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

RFC3339_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


def enqueue(http: httpx.Client, **spec: Any) -> dict[str, Any]:
    r = http.post("/enqueue", json={"payload": {"n": 1}, **spec})
    assert r.status_code == 201, r.text
    job: dict[str, Any] = r.json()["job"]
    return job


def poll(http: httpx.Client, worker: str = "w1", **kw: Any) -> list[dict[str, Any]]:
    r = http.post("/poll", json={"worker_id": worker, **kw})
    assert r.status_code == 200, r.text
    jobs: list[dict[str, Any]] = r.json()["jobs"]
    return jobs


def test_enqueue_returns_the_whole_job(http: httpx.Client) -> None:
    job = enqueue(http, queue="emails", task="send", priority=2, idempotency_key="k1")
    assert job["state"] == "QUEUED" and job["attempts"] == 0 and job["max_tries"] == 5
    assert (job["queue"], job["task"], job["priority"]) == ("emails", "send", 2)
    assert job["payload"] == {"n": 1} and job["result"] is None
    for key in ("run_at", "created_at", "updated_at"):
        assert RFC3339_MS.match(job[key]), job[key]
    assert "lease_token" not in job
    assert http.get(f"/jobs/{job['id']}").json()["job"] == job


def test_idempotency_key_answers_200_with_the_existing_job(http: httpx.Client) -> None:
    first = enqueue(http, idempotency_key="order-42")
    again = http.post("/enqueue", json={"payload": {"other": True}, "idempotency_key": "order-42"})
    assert again.status_code == 200 and again.json()["job"] == first
    elsewhere = http.post(
        "/enqueue", json={"payload": 1, "idempotency_key": "order-42", "queue": "b"}
    )
    assert elsewhere.status_code == 201


def test_batch_enqueue_and_poll_order(http: httpx.Client) -> None:
    r = http.post(
        "/enqueue",
        json={"jobs": [{"payload": i, "priority": p} for i, p in enumerate([0, 5, 0, 9])]},
    )
    assert r.status_code == 201 and len(r.json()["jobs"]) == 4
    got = poll(http, max_jobs=10)
    assert [j["payload"] for j in got] == [3, 1, 0, 2]
    assert all(j["state"] == "LEASED" and j["attempts"] == 1 and j["lease_token"] for j in got)
    assert all(j["lease_owner"] == "w1" and RFC3339_MS.match(j["lease_expires_at"]) for j in got)
    assert "lease_token" not in http.get(f"/jobs/{got[0]['id']}").json()["job"]


def _good_missing_stale(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, str]]:
    """The items of a batch that must answer 200, 404, 409: ``a``'s own lease, a job
    that does not exist, ``b`` with a token it never had."""
    return [
        {"job_id": a["id"], "lease_token": a["lease_token"]},
        {"job_id": "missing", "lease_token": "t"},
        {"job_id": b["id"], "lease_token": "wrong"},
    ]


def test_ack_fences_and_is_idempotent_for_its_own_token(http: httpx.Client) -> None:
    enqueue(http)
    (job,) = poll(http)
    body = {"job_id": job["id"], "lease_token": job["lease_token"], "result": {"sent": 3}}
    stale = http.post("/ack", json={**body, "lease_token": "not-the-token"})
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "lease_lost"
    assert "lease" in stale.json()["error"]["message"]
    done = http.post("/ack", json=body)
    assert done.status_code == 200
    assert done.json()["job"]["state"] == "DONE" and done.json()["job"]["result"] == {"sent": 3}
    assert http.post("/ack", json=body).json() == done.json()  # the answer may have been lost
    assert http.post("/fail", json={**body, "result": None} | {"error": "x"}).status_code == 422
    late = http.post("/fail", json={"job_id": job["id"], "lease_token": job["lease_token"]})
    assert late.status_code == 409
    hb = http.post("/heartbeat", json={"job_id": job["id"], "lease_token": job["lease_token"]})
    assert hb.status_code == 409


def test_unknown_job_ids_are_404_whatever_their_shape(http: httpx.Client) -> None:
    for job_id in ("01a22370-2e25-76bb-ac96-7727e690eb73", "garbage", "x" * 200):
        for path in ("/ack", "/fail", "/heartbeat"):
            r = http.post(path, json={"job_id": job_id, "lease_token": "t"})
            assert r.status_code == 404 and r.json()["error"]["code"] == "job_not_found"
    assert http.get("/jobs/nope").status_code == 404
    assert http.post("/jobs/nope/cancel").status_code == 404


def test_batch_ack_answers_per_item_in_order(http: httpx.Client) -> None:
    enqueue(http)
    enqueue(http)
    a, b = poll(http, max_jobs=2)
    r = http.post(
        "/ack",
        json={"acks": _good_missing_stale(a, b)},
    )
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["status"] for x in results] == [200, 404, 409]
    assert results[0]["job"]["state"] == "DONE" and results[2]["error"]["code"] == "lease_lost"
    assert http.get(f"/jobs/{b['id']}").json()["job"]["state"] == "LEASED"


def test_fail_retries_inside_the_backoff_window_then_dies(http: httpx.Client) -> None:
    """Server runs with --retry-base 0.2: windows are [0.1, 0.2] s, then [0.2, 0.4] s."""
    job = enqueue(http, max_tries=3)
    for attempt, (low, high) in enumerate([(100, 200), (200, 400)], start=1):
        (leased,) = poll(http, wait=5)
        assert leased["attempts"] == attempt
        r = http.post(
            "/fail",
            json={"job_id": job["id"], "lease_token": leased["lease_token"], "error": "boom"},
        )
        failed = r.json()["job"]
        assert failed["state"] == "QUEUED" and failed["last_error"] == "boom"
        delay_ms = _ms(failed["run_at"]) - _ms(failed["updated_at"])
        assert low <= delay_ms <= high, delay_ms
        assert poll(http) == []  # not ready before run_at
    (last,) = poll(http, wait=5)
    r = http.post("/fail", json={"job_id": job["id"], "lease_token": last["lease_token"]})
    assert r.json()["job"]["state"] == "DEAD" and r.json()["job"]["attempts"] == 3


def test_fail_without_retry_goes_straight_to_the_dlq(http: httpx.Client) -> None:
    enqueue(http)
    (job,) = poll(http)
    body = {"job_id": job["id"], "lease_token": job["lease_token"], "retry": False}
    assert http.post("/fail", json={**body, "error": "bad"}).json()["job"]["state"] == "DEAD"


def test_dead_letter_queue_listing_and_requeue(http: httpx.Client) -> None:
    for queue in ("a", "a", "b"):
        enqueue(http, queue=queue, max_tries=1)
        (job,) = poll(http, queues=[queue])
        http.post("/fail", json={"job_id": job["id"], "lease_token": job["lease_token"]})
    dead = http.get("/dead", params={"queue": "a"}).json()
    assert len(dead["jobs"]) == 2 and dead["next_cursor"] is None
    assert http.get("/dead").json()["jobs"][0]["queue"] == "b"
    one = dead["jobs"][0]["id"]
    assert http.post("/dead/requeue", json={"job_ids": [one]}).json() == {"requeued": 1}
    job = http.get(f"/jobs/{one}").json()["job"]
    assert (job["state"], job["attempts"]) == ("QUEUED", 0)
    assert http.post("/dead/requeue", json={"queue": "a"}).json() == {"requeued": 1}
    assert http.get("/dead", params={"queue": "a"}).json()["jobs"] == []
    assert http.post("/dead/requeue", json={"queue": "a", "job_ids": [one]}).status_code == 422


def test_heartbeat_extends_the_lease(http: httpx.Client) -> None:
    enqueue(http)
    (job,) = poll(http, lease_seconds=5)
    r = http.post(
        "/heartbeat",
        json={"job_id": job["id"], "lease_token": job["lease_token"], "lease_seconds": 600},
    )
    assert r.status_code == 200
    assert _ms(r.json()["job"]["lease_expires_at"]) - _ms(job["lease_expires_at"]) > 590_000


def test_batch_heartbeat_extends_each_lease_and_answers_per_item(http: httpx.Client) -> None:
    enqueue(http)
    enqueue(http)
    a, b = poll(http, max_jobs=2, lease_seconds=5)
    r = http.post(
        "/heartbeat",
        json={"lease_seconds": 600, "heartbeats": _good_missing_stale(a, b)},
    )
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["status"] for x in results] == [200, 404, 409]
    assert _ms(results[0]["job"]["lease_expires_at"]) - _ms(a["lease_expires_at"]) > 590_000
    assert results[2]["error"]["code"] == "lease_lost"
    assert http.get(f"/jobs/{b['id']}").json()["job"]["lease_expires_at"] == b["lease_expires_at"]
    assert http.post("/heartbeat", json={"heartbeats": []}).status_code == 422


def test_cancel_queued_or_leased_not_finished(http: httpx.Client) -> None:
    queued = enqueue(http)
    r = http.post(f"/jobs/{queued['id']}/cancel")
    assert r.status_code == 200 and r.json()["job"]["state"] == "CANCELLED"
    r = http.post(f"/jobs/{queued['id']}/cancel")
    assert r.status_code == 409 and r.json()["error"]["code"] == "invalid_transition"
    enqueue(http)
    (leased,) = poll(http)
    r = http.post(f"/jobs/{leased['id']}/cancel")
    assert r.status_code == 200 and r.json()["job"]["state"] == "CANCELLED"


def test_jobs_listing_paginates_and_filters(http: httpx.Client) -> None:
    ids = [enqueue(http, queue="p")["id"] for _ in range(5)]
    seen, cursor = [], None
    for _ in range(5):
        params = {"queue": "p", "limit": 2} | ({"cursor": cursor} if cursor else {})
        page = http.get("/jobs", params=params).json()
        seen += [j["id"] for j in page["jobs"]]
        if not (cursor := page["next_cursor"]):
            break
    assert seen == ids[::-1]
    assert http.get("/jobs", params={"state": "DONE"}).json()["jobs"] == []
    assert http.get("/jobs", params={"state": "NOPE"}).status_code == 422
    assert http.get("/jobs", params={"limit": 0}).status_code == 422
    assert http.get("/jobs", params={"bogus": 1}).status_code == 422


def test_stats_health_and_openapi(http: httpx.Client) -> None:
    enqueue(http, queue="s")
    enqueue(http, queue="s")
    poll(http, queues=["s"])
    stats = http.get("/stats").json()["queues"]["s"]
    assert (stats["QUEUED"], stats["LEASED"], stats["DONE"]) == (1, 1, 0)
    assert stats["oldest_queued_age_s"] >= 0
    assert http.get("/health").json()["status"] == "ok"
    spec = http.get("/openapi.json").json()
    paths = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    for route in [("POST", "/enqueue"), ("POST", "/poll"), ("POST", "/ack"), ("POST", "/fail"),
                  ("POST", "/heartbeat"), ("GET", "/dead"), ("POST", "/dead/requeue"),
                  ("GET", "/jobs"), ("GET", "/jobs/{job_id}"), ("POST", "/jobs/{job_id}/cancel"),
                  ("GET", "/stats"), ("GET", "/health")]:  # fmt: skip
        assert route in paths
    assert "swagger" in http.get("/docs").text.lower()


def test_lease_expiry_returns_the_job_and_the_last_try_goes_dead(http: httpx.Client) -> None:
    job = enqueue(http, max_tries=2)
    (first,) = poll(http, lease_seconds=1)
    (second,) = poll(
        http, wait=5, lease_seconds=1
    )  # the reaper (every 0.2 s) returns it after ~1 s
    assert second["id"] == job["id"] and second["attempts"] == 2
    assert second["last_error"] == "lease expired"
    assert second["lease_token"] != first["lease_token"]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        state = http.get(f"/jobs/{job['id']}").json()["job"]
        if state["state"] != "LEASED":
            break
        time.sleep(0.1)
    assert (state["state"], state["last_error"]) == ("DEAD", "lease expired")


def _ms(stamp: str) -> int:
    from datetime import datetime

    return round(datetime.fromisoformat(stamp).timestamp() * 1000)
