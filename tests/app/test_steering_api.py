"""Steering over HTTP: timeouts, cancel of a running job (single and batch), progress and
checkpoints on heartbeats and fails; bad input is a 4xx naming the field that changes
nothing."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import httpx
import pytest

import leaseq
from leaseq.client import HeartbeatSpec
from leaseq.core import limits
from leaseq.core.model import JobState
from leaseq.errors import JobNotFound
from tests.app.conftest import MakeServer
from tests.app.test_jobs_api import enqueue, poll
from tests.support.inproc import FAST, InProcessServer, settings_for


def _ms(stamp: str) -> int:
    return round(datetime.fromisoformat(stamp).timestamp() * 1000)


def _lease(job: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"job_id": job["id"], "lease_token": job["lease_token"], **extra}


def test_a_timeout_is_stored_caps_the_lease_and_fails_the_attempt(
    app_server_factory: MakeServer,
) -> None:
    http = app_server_factory(**FAST).client(timeout=10)
    job = enqueue(http, timeout=1, max_tries=2)
    assert job["timeout"] == 1.0
    (leased,) = poll(http, lease_seconds=60)
    assert _ms(leased["lease_expires_at"]) - _ms(leased["updated_at"]) == 1000  # not 60 s
    r = http.post("/heartbeat", json=_lease(leased, lease_seconds=60))
    assert r.json()["job"]["lease_expires_at"] == leased["lease_expires_at"]
    deadline = time.monotonic() + 5
    while http.get(f"/jobs/{job['id']}").json()["job"]["state"] == "LEASED":
        assert time.monotonic() < deadline, "the reaper did not time the attempt out"
        time.sleep(0.05)
    got = http.get(f"/jobs/{job['id']}").json()["job"]
    assert (got["state"], got["last_error"], got["last_error_type"]) == (
        "QUEUED", "timed out after 1 s", "TimedOut",
    )  # fmt: skip
    kinds = [e["kind"] for e in http.get(f"/jobs/{job['id']}/events").json()["events"]]
    assert kinds[-1] == "timed_out"
    r = http.post("/ack", json=_lease(leased))
    assert r.status_code == 409 and r.json()["error"]["code"] == "lease_lost"


def test_cancel_of_a_running_job_answers_its_holder_job_cancelled(http: httpx.Client) -> None:
    enqueue(http)
    (leased,) = poll(http)
    r = http.post(f"/jobs/{leased['id']}/cancel")
    assert r.status_code == 200 and r.json()["job"]["state"] == "CANCELLED"
    assert r.json()["job"]["lease_owner"] == "w1"
    for path in ("/heartbeat", "/ack", "/fail", "/release"):
        r = http.post(path, json=_lease(leased))
        assert r.status_code == 409 and r.json()["error"]["code"] == "job_cancelled", path
    r = http.post("/heartbeat", json={"heartbeats": [_lease(leased)]})
    (item,) = r.json()["results"]
    assert (item["status"], item["error"]["code"]) == (409, "job_cancelled")
    (event,) = [e for e in http.get(f"/jobs/{leased['id']}/events").json()["events"]
                if e["kind"] == "cancelled"]  # fmt: skip
    assert event["worker_id"] == "w1"


def test_batch_cancel_answers_each_id_in_order(http: httpx.Client) -> None:
    queued = enqueue(http)
    enqueue(http, queue="b")
    (leased,) = poll(http, queues=["b"])
    done = enqueue(http, queue="c")
    (held,) = poll(http, queues=["c"])
    http.post("/ack", json=_lease(held))
    ids = [queued["id"], "missing", leased["id"], done["id"]]
    r = http.post("/jobs/cancel", json={"job_ids": ids})
    assert r.status_code == 200
    results = r.json()["results"]
    assert [x["job_id"] for x in results] == ids
    assert [x["status"] for x in results] == [200, 404, 200, 409]
    assert results[0]["job"]["state"] == results[2]["job"]["state"] == "CANCELLED"
    assert [results[1]["error"]["code"], results[3]["error"]["code"]] == [
        "job_not_found", "invalid_transition",
    ]  # fmt: skip


def test_progress_and_checkpoints_travel_with_heartbeats_and_fails(http: httpx.Client) -> None:
    job = enqueue(http, max_tries=3)
    (leased,) = poll(http)
    r = http.post("/heartbeat", json=_lease(leased, progress={"done": 3, "of": 10}))
    assert r.json()["job"]["progress"] == {"done": 3, "of": 10}
    r = http.post("/heartbeat", json={"heartbeats": [_lease(leased, checkpoint={"page": 4})]})
    assert r.json()["results"][0]["job"]["checkpoint"] == {"page": 4}
    got = http.get(f"/jobs/{job['id']}").json()["job"]
    assert (got["progress"], got["checkpoint"]) == ({"done": 3, "of": 10}, {"page": 4})
    r = http.post("/fail", json=_lease(leased, error="boom", checkpoint={"page": 5}))
    assert r.status_code == 200 and r.json()["job"]["checkpoint"] == {"page": 5}
    kinds = [e["kind"] for e in http.get(f"/jobs/{job['id']}/events").json()["events"]]
    assert kinds == ["enqueued", "leased", "heartbeat", "checkpointed", "failed"]
    time.sleep(0.5)  # the retry's backoff (FAST: 0.2 s at most)
    (again,) = poll(http)
    assert (again["attempts"], again["progress"], again["checkpoint"]) == (2, None, {"page": 5})


BIG = limits.MAX_CHECKPOINT_BYTES
PROGRESS = limits.MAX_PROGRESS_BYTES


@pytest.fixture(scope="module")
def roomy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """A body limit above the checkpoint's, so the checkpoint's own limit is what answers."""
    tmp = tmp_path_factory.mktemp("steer-bad-input")
    with InProcessServer(settings_for(tmp, max_body=4 * BIG)) as server:
        yield server


def _bad_bodies(job: dict[str, Any]) -> list[tuple[str, dict[str, Any], str]]:
    lease = _lease(job)
    over = "x" * PROGRESS  # two quotes more than the limit, encoded
    return [
        ("/enqueue", {"payload": 1, "timeout": 0}, "timeout"),
        ("/enqueue", {"payload": 1, "timeout": 43201}, "timeout"),
        ("/enqueue", {"jobs": [{"payload": 1}, {"payload": 1, "timeout": -1}]}, "jobs[1].timeout"),
        ("/heartbeat", {**lease, "progress": over}, "$.progress"),
        ("/heartbeat", {**lease, "checkpoint": "y" * BIG}, "$.checkpoint"),
        ("/heartbeat", {"heartbeats": [{**lease, "progress": 1, "checkpoint": 1},
                                       {**lease, "checkpoint": ["z" * BIG]}]},
         "$.heartbeats[1].checkpoint"),
        ("/fail", {**lease, "checkpoint": "y" * BIG}, "$.checkpoint"),
        ("/jobs/cancel", {"job_ids": []}, "job_ids"),
        ("/jobs/cancel", {"job_ids": ["a"] * 1001}, "job_ids"),
    ]  # fmt: skip


def test_bad_steering_input_is_a_4xx_that_changes_nothing(roomy: InProcessServer) -> None:
    with roomy.client(timeout=30) as http:
        enqueue(http, queue="bad")
        (job,) = poll(http, queues=["bad"])
        before = http.get(f"/jobs/{job['id']}").json()
        stats = http.get("/stats").json()
        for path, body, names in _bad_bodies(job):
            r = http.post(path, json=body)
            assert r.status_code == 422, (path, names, r.text[:300])
            assert r.json()["error"]["code"] == "invalid_request"
            assert names in r.json()["error"]["message"], (names, r.json())
            assert http.get(f"/jobs/{job['id']}").json() == before
            assert http.get("/stats").json() == stats
        ok = {**_lease(job), "progress": "x" * (PROGRESS - 2), "checkpoint": "y" * (BIG - 2)}
        assert http.post("/heartbeat", json=ok).status_code == 200  # exactly at the limits


def test_the_document_shows_the_steering_fields_route_and_code(http: httpx.Client) -> None:
    doc = http.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    assert {"timeout", "progress", "checkpoint"} <= schemas["JobOut"]["properties"].keys()
    assert schemas["JobSpecIn"]["properties"]["timeout"]["anyOf"][0] == {
        "type": "number", "minimum": 1.0, "maximum": 43200.0,
    }  # fmt: skip
    assert {"progress", "checkpoint"} <= schemas["LeaseIn"]["properties"].keys()
    assert {"progress", "checkpoint"} <= schemas["HeartbeatIn"]["properties"].keys()
    assert "checkpoint" in schemas["FailIn"]["properties"]
    assert "65536 bytes" in schemas["LeaseIn"]["properties"]["progress"]["description"]
    cancel = doc["paths"]["/jobs/cancel"]["post"]
    assert cancel["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith(
        "/CancelBatchIn"
    )
    assert "job_cancelled" in schemas["ErrorBody"]["properties"]["code"]["description"]


def test_the_client_steers_jobs(client: leaseq.Client) -> None:
    job = client.enqueue({"n": 1}, timeout=90, max_tries=3)
    assert job.timeout == 90.0
    (leased,) = client.poll("w1")
    token = leased.lease_token or ""
    beat = client.heartbeat(job.id, token, progress={"done": 1, "of": 2}, checkpoint=[1])
    assert (beat.progress, beat.checkpoint) == ({"done": 1, "of": 2}, [1])
    (item,) = client.heartbeat_many([HeartbeatSpec(job.id, token, checkpoint=[1, 2])])
    assert item.job is not None and item.job.checkpoint == [1, 2]
    failed = client.fail(job.id, token, "boom", checkpoint=[1, 2, 3])
    assert failed.checkpoint == [1, 2, 3]
    time.sleep(0.5)  # the backoff
    (again,) = client.poll("w2")
    assert (again.checkpoint, again.progress) == ([1, 2, 3], None)
    outcomes = client.cancel_many([job.id, "missing"])
    assert outcomes[0].job is not None and outcomes[0].job.state is JobState.CANCELLED
    assert isinstance(outcomes[1].error, JobNotFound)
    with pytest.raises(leaseq.JobCancelled):
        client.heartbeat(job.id, again.lease_token or "")
    with pytest.raises(leaseq.LeaseLost):  # JobCancelled is a LeaseLost
        client.ack(job.id, again.lease_token or "")
