"""Tags, the task filter, ``traceparent`` and ``GET /jobs/{id}?wait=`` over HTTP, against
the app in-process; and what the OpenAPI document says of them."""

from __future__ import annotations

import threading
import time
from typing import Any

import httpx

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def enqueue(http: httpx.Client, **spec: Any) -> dict[str, Any]:
    r = http.post("/enqueue", json={"payload": 1, **spec})
    assert r.status_code == 201, r.text
    job: dict[str, Any] = r.json()["job"]
    return job


def found(http: httpx.Client, *params: tuple[str, str]) -> list[str]:
    """Every job id the listing finds, pages of 2 (newest first)."""
    ids: list[str] = []
    cursor: list[tuple[str, str]] = []
    while True:
        r = http.get("/jobs", params=httpx.QueryParams([*params, ("limit", "2"), *cursor]))
        assert r.status_code == 200, r.text
        ids += [job["id"] for job in r.json()["jobs"]]
        if (after := r.json()["next_cursor"]) is None:
            return ids
        cursor = [("cursor", after)]


def test_tags_and_traceparent_are_stored_and_answered(http: httpx.Client) -> None:
    job = enqueue(http, tags=["tenant:7", "invoice", "tenant:7"], traceparent=TRACE)
    assert (job["tags"], job["traceparent"]) == (["tenant:7", "invoice"], TRACE)
    assert http.get(f"/jobs/{job['id']}").json()["job"]["tags"] == ["tenant:7", "invoice"]
    (leased,) = http.post("/poll", json={"worker_id": "w"}).json()["jobs"]
    assert (leased["tags"], leased["traceparent"]) == (["tenant:7", "invoice"], TRACE)
    plain = enqueue(http)
    assert (plain["tags"], plain["traceparent"]) == ([], None)


def test_jobs_are_found_by_every_tag_and_by_task(http: httpx.Client) -> None:
    a = [enqueue(http, queue="f", task="send", tags=["x", "y"])["id"] for _ in range(3)]
    b = enqueue(http, queue="f", task="bill", tags=["x"])["id"]
    c = enqueue(http, queue="g", task="send", tags=["y"])["id"]
    assert found(http, ("tag", "x")) == [b, *reversed(a)]
    assert found(http, ("tag", "x"), ("tag", "y")) == list(reversed(a))
    assert found(http, ("tag", "y"), ("queue", "g")) == [c]
    assert found(http, ("task", "send")) == [c, *reversed(a)]
    assert found(http, ("task", "send"), ("tag", "x"), ("state", "QUEUED")) == list(reversed(a))
    assert found(http, ("tag", "x"), ("tag", "nope")) == []


def test_a_wait_answers_when_the_job_is_acked(http: httpx.Client) -> None:
    job = enqueue(http, queue="wait")
    answer: dict[str, Any] = {}

    def wait() -> None:
        start = time.perf_counter()
        r = http.get(f"/jobs/{job['id']}", params={"wait": 10})
        answer.update(r.json()["job"], status=r.status_code, took=time.perf_counter() - start)

    waiter = threading.Thread(target=wait)
    waiter.start()
    time.sleep(0.3)
    assert not answer
    (leased,) = http.post("/poll", json={"worker_id": "w", "queues": ["wait"]}).json()["jobs"]
    acked = time.perf_counter()
    http.post("/ack", json={"job_id": job["id"], "lease_token": leased["lease_token"],
                            "result": {"ok": 1}}).raise_for_status()  # fmt: skip
    waiter.join(5)
    assert (answer["status"], answer["state"], answer["result"]) == (200, "DONE", {"ok": 1})
    assert time.perf_counter() - acked < 1.0


def test_a_wait_that_runs_out_answers_200_with_the_job_unfinished(http: httpx.Client) -> None:
    job = enqueue(http, queue="slow")
    start = time.perf_counter()
    r = http.get(f"/jobs/{job['id']}", params={"wait": "0.3"})
    assert r.status_code == 200 and r.json()["job"]["state"] == "QUEUED"
    assert time.perf_counter() - start >= 0.3
    r = http.get("/jobs/no-such-job", params={"wait": 5})
    assert r.status_code == 404 and r.json()["error"]["code"] == "job_not_found"


def test_the_document_shows_the_new_fields_and_parameters(http: httpx.Client) -> None:
    doc = http.get("/openapi.json").json()
    spec = doc["components"]["schemas"]["JobSpecIn"]["properties"]
    assert spec["tags"]["maxItems"] == 20
    assert spec["tags"]["items"]["maxLength"] == 64
    assert "pattern" in str(spec["traceparent"])
    listing = {p["name"]: p for p in doc["paths"]["/jobs"]["get"]["parameters"]}
    assert listing["tag"]["schema"]["type"] == "array" and "task" in listing
    one = {p["name"]: p for p in doc["paths"]["/jobs/{job_id}"]["get"]["parameters"]}
    assert one["wait"]["schema"]["maximum"] == 30
    job = doc["components"]["schemas"]["JobOut"]["properties"]
    assert {"tags", "traceparent"} <= job.keys()


def test_a_schedule_s_jobs_carry_its_tags(http: httpx.Client) -> None:
    body = {"every": 3600, "job": {"payload": 1, "queue": "sched", "tags": ["nightly"]}}
    assert http.put("/schedules/tagged", json=body).status_code == 201
    job = http.post("/schedules/tagged/trigger").json()["job"]
    assert job["tags"] == ["nightly"]
    assert found(http, ("tag", "nightly")) == [job["id"]]
    bad = {
        "every": 3600,
        "job": {"payload": 1, "traceparent": "00-" + "0" * 32 + "-" + "1" * 16 + "-01"},
    }
    r = http.put("/schedules/bad", json=bad)
    assert r.status_code == 422 and "traceparent" in r.json()["error"]["message"]


def test_delayed_and_attempted_filter_the_listing(http: httpx.Client) -> None:
    later = enqueue(http, queue="views", delay=3600)
    fresh = enqueue(http, queue="views")
    q = [("queue", "views"), ("state", "QUEUED")]
    assert found(http, *q, ("delayed", "true")) == [later["id"]]
    assert found(http, *q, ("delayed", "false")) == [fresh["id"]]
    assert found(http, *q, ("attempted", "true")) == []
    (leased,) = http.post("/poll", json={"worker_id": "w", "queues": ["views"]}).json()["jobs"]
    fail = {"job_id": leased["id"], "lease_token": leased["lease_token"], "error": "x"}
    assert http.post("/fail", json=fail).json()["job"]["state"] == "QUEUED"  # a retry
    assert found(http, *q, ("attempted", "true")) == [fresh["id"]]
    assert found(http, *q, ("attempted", "false")) == [later["id"]]
    for bad in ("maybe", "2"):
        r = http.get("/jobs", params={"delayed": bad})
        assert r.status_code == 422 and "delayed" in r.json()["error"]["message"], r.text
    with_client = http.get("/openapi.json").json()["paths"]["/jobs"]["get"]["parameters"]
    assert {"delayed", "attempted"} <= {p["name"] for p in with_client}
