"""The fused ack-and-poll: ``POST /poll`` with ``acks`` finishes jobs and leases the next
in one round trip, the acks applied (durably) before the claim."""

from __future__ import annotations

from typing import Any

import httpx

from leaseq.core import limits


def enqueue(http: httpx.Client, queue: str = "q") -> dict[str, Any]:
    r = http.post("/enqueue", json={"queue": queue, "payload": {}})
    assert r.status_code == 201, r.text
    job: dict[str, Any] = r.json()["job"]
    return job


def poll(http: httpx.Client, **body: Any) -> dict[str, Any]:
    r = http.post("/poll", json={"worker_id": "w", "queues": ["q"], **body})
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def ack_of(job: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"job_id": job["id"], "lease_token": job["lease_token"], **extra}


def state(http: httpx.Client, job_id: str) -> str:
    s: str = http.get(f"/jobs/{job_id}").json()["job"]["state"]
    return s


def test_acks_are_answered_in_order_as_a_batch_ack_reports_them(http: httpx.Client) -> None:
    for _ in range(3):
        enqueue(http)
    a, b = poll(http, max_jobs=2)["jobs"]
    acks = [
        ack_of(a, result={"n": 7}),
        {"job_id": "no-such-job", "lease_token": "t"},
        ack_of(b, lease_token="not-the-token"),
    ]
    answer = poll(http, acks=acks)
    assert [(x["job_id"], x["status"]) for x in answer["acks"]] == [
        (a["id"], 200), ("no-such-job", 404), (b["id"], 409)
    ]  # fmt: skip
    assert "error" not in answer["acks"][0]
    assert answer["acks"][2]["error"]["code"] == "lease_lost"
    done = http.get(f"/jobs/{a['id']}").json()["job"]
    assert done["state"] == "DONE" and done["result"] == {"n": 7}
    assert state(http, b["id"]) == "LEASED"


def test_a_poll_without_acks_answers_as_before(http: httpx.Client) -> None:
    enqueue(http)
    answer = poll(http)
    assert set(answer) == {"jobs"} and len(answer["jobs"]) == 1
    assert set(poll(http, acks=[])) == {"jobs"}


def test_the_acks_are_applied_before_the_claim(http: httpx.Client) -> None:
    """A queue that runs one job at a time: the job this worker holds blocks the next,
    so the next can only come back in the same answer if the ack went first."""
    assert http.patch("/queues/q", json={"concurrency": 1}).status_code == 200
    enqueue(http)
    enqueue(http)
    (first,) = poll(http, max_jobs=2)["jobs"]
    assert poll(http)["jobs"] == []  # the limit holds the second back
    answer = poll(http, acks=[ack_of(first)])
    assert answer["acks"] == [{"job_id": first["id"], "status": 200}]
    (second,) = answer["jobs"]
    assert second["id"] != first["id"] and state(http, first["id"]) == "DONE"


def test_a_long_poll_acks_at_once_then_waits(http: httpx.Client) -> None:
    enqueue(http)
    (job,) = poll(http)["jobs"]
    answer = poll(http, acks=[ack_of(job)], wait=0.2)
    assert answer == {"jobs": [], "acks": [{"job_id": job["id"], "status": 200}]}
    assert state(http, job["id"]) == "DONE"


def test_bad_acks_are_refused_whole_and_change_nothing(http: httpx.Client) -> None:
    enqueue(http)
    enqueue(http)
    a, b = poll(http, max_jobs=2)["jobs"]
    waiting = enqueue(http)
    too_many = [ack_of(a)] * (limits.MAX_POLL_ACKS + 1)
    bad = [
        too_many,
        [ack_of(a), {"job_id": b["id"]}],  # no lease_token
        [ack_of(a), {**ack_of(b), "result": 1, "extra": True}],
    ]
    for acks in bad:
        r = http.post("/poll", json={"worker_id": "w", "queues": ["q"], "acks": acks})
        assert r.status_code == 422, r.text
        assert "acks" in r.json()["error"]["message"]
    assert state(http, a["id"]) == "LEASED" and state(http, b["id"]) == "LEASED"
    assert state(http, waiting["id"]) == "QUEUED"  # nor did a refused poll claim
