"""Structured errors over HTTP, in process: ``POST /fail`` takes the exception's type
and message beside the text, the job shows them, and ``/dead/groups`` groups by them."""

from __future__ import annotations

import httpx

import leaseq
from leaseq.core import limits


def _leased(http: httpx.Client, n: int) -> list[dict[str, str]]:
    http.post("/enqueue", json={"jobs": [{"payload": i, "max_tries": 1} for i in range(n)]})
    body = http.post("/poll", json={"worker_id": "w", "queues": ["default"], "max_jobs": n})
    jobs: list[dict[str, str]] = body.json()["jobs"]
    assert len(jobs) == n
    return jobs


def test_fail_takes_type_and_message_and_dead_letters_group_by_them(http: httpx.Client) -> None:
    for i, job in enumerate(_leased(http, 4)):
        kind, message = ("ValueError", "bad") if i < 3 else ("KeyError", "'k'")
        r = http.post("/fail", json={
            "job_id": job["id"], "lease_token": job["lease_token"],
            "error": f"Traceback {i}\n{kind}: {message}", "error_type": kind,
            "error_message": message,
        })  # fmt: skip
        assert r.status_code == 200, r.text
        shown = r.json()["job"]
        assert (shown["last_error_type"], shown["last_error_message"]) == (kind, message)
    groups = http.get("/dead/groups", params={"queue": "default"}).json()["groups"]
    assert [(g["error_type"], g["error_message"], g["count"]) for g in groups] == [
        ("ValueError", "bad", 3), ("KeyError", "'k'", 1),
    ]  # fmt: skip
    assert groups[0]["error"].startswith("Traceback ")  # one member's whole text
    assert len(groups[0]["job_ids"]) == 3


def test_fail_without_a_type_groups_by_text_as_before(http: httpx.Client) -> None:
    (job,) = _leased(http, 1)
    http.post("/fail", json={"job_id": job["id"], "lease_token": job["lease_token"],
                             "error": "plain"})  # fmt: skip
    (group,) = http.get("/dead/groups", params={"queue": "default"}).json()["groups"]
    assert (group["error"], group["error_type"], group["error_message"]) == ("plain", None, None)
    assert http.get(f"/jobs/{job['id']}").json()["job"]["last_error_type"] is None


def test_fail_refuses_a_type_or_message_too_long(http: httpx.Client) -> None:
    (job,) = _leased(http, 1)
    base = {"job_id": job["id"], "lease_token": job["lease_token"]}
    too_long_type = {**base, "error_type": "E" * (limits.MAX_ERROR_TYPE_CHARS + 1)}
    assert http.post("/fail", json=too_long_type).status_code == 422
    long_message = {**base, "error_message": "m" * (limits.MAX_ERROR_MESSAGE_CHARS + 1)}
    assert http.post("/fail", json=long_message).status_code == 422


def test_the_client_sends_type_and_message(client: leaseq.Client) -> None:
    client.enqueue({"x": 1}, max_tries=1)
    (job,) = client.poll("w", ["default"], max_jobs=1)
    assert job.lease_token is not None
    dead = client.fail(job.id, job.lease_token, "tb", error_type="OSError", error_message="disk")
    assert (dead.state, dead.last_error_type, dead.last_error_message) == (
        leaseq.JobState.DEAD, "OSError", "disk",
    )  # fmt: skip
