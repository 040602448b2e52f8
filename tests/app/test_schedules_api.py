"""``/schedules`` and unique-while-active enqueues over HTTP, against the app in-process:
the shapes of issue 17, a 422 naming the field for each bad input (changing nothing),
roles, and what the OpenAPI document says about it all."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema_rs
import pytest

from tests.app.conftest import MakeServer
from tests.support.inproc import FAST, InProcessServer, settings_for

RFC3339 = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
JOB = {"payload": {"args": [], "kwargs": {}}, "queue": "cron", "task": "report"}
NIGHTLY = {"cron": "30 2 * * *", "timezone": "Europe/Berlin", "job": JOB}


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    with InProcessServer(settings_for(tmp_path_factory.mktemp("schedules"))) as server:
        yield server


def _put(http: httpx.Client, name: str, body: Any) -> httpx.Response:
    return http.put(f"/schedules/{name}", json=body)


# -- bad input ----------------------------------------------------------------------------

BAD = [
    ("nightly", {**NIGHTLY, "cron": "61 * * * *"}, "cron"),
    ("nightly", {**NIGHTLY, "cron": "5-3 * * * *"}, "cron"),
    ("nightly", {**NIGHTLY, "cron": "* * * * * *"}, "cron"),  # six fields: seconds
    ("nightly", {**NIGHTLY, "cron": "0 0 31 2 *"}, "cron"),  # a date that never comes
    ("nightly", {**NIGHTLY, "cron": "every day"}, "cron"),
    ("nightly", {**NIGHTLY, "timezone": "Mars/Olympus_Mons"}, "timezone"),
    ("nightly", {**NIGHTLY, "timezone": ""}, "timezone"),
    ("nightly", {"every": 0.5, "job": JOB}, "every"),
    ("nightly", {"every": "60", "job": JOB}, "every"),
    ("nightly", {"every": 60, "cron": "* * * * *", "job": JOB}, "cron"),
    ("nightly", {"job": JOB}, "cron"),
    ("nightly", {"cron": None, "every": None, "job": JOB}, "cron"),
    ("nightly", {"cron": "* * * * *"}, "job"),
    ("nightly", {**NIGHTLY, "crontab": "* * * * *"}, "crontab"),
    ("nightly", {**NIGHTLY, "overlap": "sometimes"}, "overlap"),
    ("nightly", {**NIGHTLY, "paused": "yes"}, "paused"),
    ("nightly", {**NIGHTLY, "job": {**JOB, "max_retries": 3}}, "max_retries"),
    ("nightly", {**NIGHTLY, "job": {**JOB, "queue": "a b"}}, "queue"),
    ("nightly", {**NIGHTLY, "job": {**JOB, "delay": 5}}, "delay"),
    ("nightly", {**NIGHTLY, "job": {**JOB, "run_at": "2030-01-01T00:00:00Z"}}, "run_at"),
    ("nightly", {**NIGHTLY, "job": {**JOB, "idempotency_key": "k"}}, "idempotency_key"),
    ("nightly", {**NIGHTLY, "job": {**JOB, "idempotency_scope": "active"}}, "idempotency_scope"),
    ("bad%20name", NIGHTLY, "name"),
    ("a" * 129, NIGHTLY, "name"),
    ("caf%C3%A9", NIGHTLY, "name"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "body", "names"), BAD)
def test_a_bad_schedule_is_a_422_naming_it_and_changes_nothing(
    shared_server: InProcessServer, name: str, body: Any, names: str
) -> None:
    with shared_server.client() as http:
        before = http.get("/schedules").json()
        r = _put(http, name, body)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_request"
        assert names in r.json()["error"]["message"], r.text
        assert len(r.json()["error"]["message"]) < 400  # names it, does not quote the grammar
        assert http.get("/schedules").json() == before


@pytest.mark.parametrize("method", ["GET", "DELETE"])
@pytest.mark.parametrize("action", ["", "/trigger", "/pause", "/resume"])
def test_a_bad_name_is_a_422_on_every_route(
    shared_server: InProcessServer, method: str, action: str
) -> None:
    if action and method == "DELETE":
        method = "POST"
    elif action and method == "GET":
        return
    with shared_server.client() as http:
        for bad in ("no%20spaces", "nightly%0A"):  # a final newline would forge log lines
            r = http.request(method, f"/schedules/{bad}{action}")
            assert r.status_code == 422 and "name" in r.json()["error"]["message"], r.text


def test_a_missing_schedule_is_404_schedule_not_found(shared_server: InProcessServer) -> None:
    with shared_server.client() as http:
        for method, path in [("GET", ""), ("DELETE", ""), ("POST", "/trigger"),
                             ("POST", "/pause"), ("POST", "/resume")]:  # fmt: skip
            r = http.request(method, f"/schedules/never-made{path}")
            assert r.status_code == 404, (method, path, r.text)
            assert r.json()["error"]["code"] == "schedule_not_found"


# -- the life of a schedule -------------------------------------------------------------


def _check_shape(schedule: dict[str, Any]) -> None:
    assert set(schedule) == {
        "name", "cron", "every", "timezone", "job", "paused", "overlap", "next_run_at",
        "last_run_at", "last_job_id", "created_at", "updated_at",
    }  # fmt: skip
    for key in ("next_run_at", "last_run_at", "created_at", "updated_at"):
        assert schedule[key] is None or RFC3339.match(schedule[key]), (key, schedule[key])


def test_put_get_list_pause_resume_trigger_delete(http: httpx.Client) -> None:
    r = _put(http, "nightly", NIGHTLY)
    assert r.status_code == 201, r.text
    created = r.json()["schedule"]
    _check_shape(created)
    assert created["name"] == "nightly" and created["cron"] == "30 2 * * *"
    assert (created["every"], created["timezone"]) == (None, "Europe/Berlin")
    assert created["paused"] is False
    assert created["job"] == {**JOB, "priority": 0, "max_tries": 5}
    assert created["overlap"] == "allow" and created["next_run_at"] is not None
    assert (created["last_run_at"], created["last_job_id"]) == (None, None)

    again = _put(http, "nightly", {**NIGHTLY, "overlap": "skip"})
    assert again.status_code == 200 and again.json()["schedule"]["overlap"] == "skip"
    assert _put(http, "a-minute", {"every": 60, "job": JOB}).status_code == 201
    listed = http.get("/schedules").json()["schedules"]
    assert [s["name"] for s in listed] == ["a-minute", "nightly"]
    assert (listed[0]["every"], listed[0]["cron"]) == (60, None)
    assert http.get("/schedules/nightly").json()["schedule"]["overlap"] == "skip"

    paused = http.post("/schedules/nightly/pause").json()["schedule"]
    assert paused["paused"] is True and paused["next_run_at"] is None
    # A PUT that does not say ``paused`` (a worker starting) keeps the pause.
    kept = _put(http, "nightly", NIGHTLY).json()["schedule"]
    assert kept["paused"] is True
    resumed = http.post("/schedules/nightly/resume").json()["schedule"]
    assert resumed["paused"] is False and resumed["next_run_at"] is not None
    assert _put(http, "nightly", {**NIGHTLY, "paused": True}).json()["schedule"]["paused"]
    assert not _put(http, "nightly", {**NIGHTLY, "paused": False}).json()["schedule"]["paused"]

    r = http.post("/schedules/nightly/trigger")
    assert r.status_code == 201, r.text
    job = r.json()["job"]
    assert (job["queue"], job["task"], job["payload"], job["state"]) == (
        "cron", "report", JOB["payload"], "QUEUED",
    )  # fmt: skip
    assert http.get(f"/jobs/{job['id']}").status_code == 200

    r = http.delete("/schedules/nightly")
    assert r.status_code == 200 and r.json()["schedule"]["name"] == "nightly"
    assert http.get("/schedules/nightly").status_code == 404
    assert [s["name"] for s in http.get("/schedules").json()["schedules"]] == ["a-minute"]
    assert http.get(f"/jobs/{job['id']}").json()["job"]["state"] == "QUEUED"  # jobs stay


def test_an_every_schedule_enqueues_its_slots(http: httpx.Client) -> None:
    """The reaper (every 0.2 s here) takes each slot: one job, keyed by the slot."""
    body = {"every": 1, "job": {"payload": {"n": 1}, "queue": "ticks", "task": "tick"}}
    assert _put(http, "tick", body).status_code == 201
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        jobs = http.get("/jobs", params={"queue": "ticks"}).json()["jobs"]
        if len(jobs) >= 2:
            break
        time.sleep(0.1)
    assert len(jobs) >= 2, jobs
    keys = [j["idempotency_key"] for j in jobs]
    assert all(k.startswith("schedule:tick:") and k.endswith(".000Z") for k in keys), keys
    assert len(set(keys)) == len(keys)
    schedule = http.get("/schedules/tick").json()["schedule"]
    assert schedule["last_job_id"] in {j["id"] for j in jobs}
    assert schedule["last_run_at"] is not None
    assert http.post("/schedules/tick/trigger").status_code == 201
    runs = http.get("/schedules/tick/runs", params={"limit": 50}).json()["runs"]
    manual, *slots = runs  # newest first: the trigger, then the slots
    assert (manual["outcome"], manual["slot_at"]) == ("manual", None), manual
    assert [r["outcome"] for r in slots] == ["enqueued"] * len(slots) and len(slots) >= 2
    assert {r["job_id"] for r in slots} <= {j["id"] for j in jobs}
    assert all(r["at"] >= r["slot_at"] for r in slots)  # RFC 3339 UTC sorts as time
    assert slots == sorted(slots, key=lambda r: r["slot_at"], reverse=True)
    assert len(http.get("/schedules/tick/runs", params={"limit": 1}).json()["runs"]) == 1
    assert http.get("/schedules/tick/runs", params={"limit": 0}).status_code == 422
    assert http.get("/schedules/never/runs").status_code == 404


# -- unique while active ----------------------------------------------------------------


def _finish(http: httpx.Client, queue: str) -> None:
    (leased,) = http.post("/poll", json={"worker_id": "w", "queues": [queue]}).json()["jobs"]
    ack = {"job_id": leased["id"], "lease_token": leased["lease_token"]}
    assert http.post("/ack", json=ack).status_code == 200


def test_an_active_key_is_free_again_once_the_job_is_finished(http: httpx.Client) -> None:
    spec = {"payload": 1, "queue": "uniq", "idempotency_key": "sync-user-7",
            "idempotency_scope": "active"}  # fmt: skip
    first = http.post("/enqueue", json=spec)
    assert first.status_code == 201 and first.json()["job"]["idempotency_scope"] == "active"
    second = http.post("/enqueue", json=spec)
    assert second.status_code == 200 and second.json()["job"]["id"] == first.json()["job"]["id"]
    _finish(http, "uniq")
    third = http.post("/enqueue", json=spec)
    assert third.status_code == 201 and third.json()["job"]["id"] != first.json()["job"]["id"]


def test_a_stored_key_stays_taken(http: httpx.Client) -> None:
    spec = {"payload": 1, "queue": "kept", "idempotency_key": "order-1"}
    first = http.post("/enqueue", json=spec).json()["job"]
    assert first["idempotency_scope"] == "stored"
    _finish(http, "kept")
    again = http.post("/enqueue", json=spec)
    assert again.status_code == 200 and again.json()["job"]["id"] == first["id"]
    bad = http.post("/enqueue", json={**spec, "idempotency_scope": "forever"})
    assert bad.status_code == 422 and "idempotency_scope" in bad.json()["error"]["message"]


# -- roles and the document -------------------------------------------------------------


def test_writes_need_admin_reads_need_any_token(app_server_factory: MakeServer) -> None:
    server = app_server_factory(**FAST, tokens=("read:r", "worker:w", "the-admin"))
    with server.client() as http:
        admin, read = {"Authorization": "Bearer the-admin"}, {"Authorization": "Bearer r"}
        for token in (read, {"Authorization": "Bearer w"}):
            r = http.put("/schedules/n", json=NIGHTLY, headers=token)
            assert r.status_code == 403, r.text
        assert http.put("/schedules/n", json=NIGHTLY, headers=admin).status_code == 201
        assert http.get("/schedules", headers=read).status_code == 200
        assert http.get("/schedules/n", headers=read).status_code == 200
        assert http.get("/schedules").status_code == 401
        for action in ("trigger", "pause", "resume"):
            assert http.post(f"/schedules/n/{action}", headers=read).status_code == 403
        assert http.delete("/schedules/n", headers=read).status_code == 403


def test_the_document_describes_schedules(shared_server: InProcessServer) -> None:
    with shared_server.client() as http:
        doc = http.get("/openapi.json").json()
    paths = doc["paths"]
    assert set(paths["/schedules/{name}"]) == {"put", "get", "delete"}
    assert set(paths["/schedules/{name}/trigger"]) == {"post"}
    put = paths["/schedules/{name}"]["put"]
    assert set(put["responses"]) == {"200", "201", "default"}
    (name,) = put["parameters"]
    assert name["schema"]["pattern"] and name["in"] == "path"
    schemas = doc["components"]["schemas"]
    assert schemas["JobSpecIn"]["properties"]["idempotency_scope"]
    validator = jsonschema_rs.Draft202012Validator(
        {"$ref": "#/components/schemas/ScheduleIn", "components": {"schemas": schemas}}
    )
    good = [NIGHTLY, {"every": 1, "job": JOB}, {"cron": "@hourly", "job": JOB},
            {"cron": "0 9 * * MON-FRI", "job": JOB, "paused": None, "overlap": "skip"}]  # fmt: skip
    bad = [{**NIGHTLY, "cron": "* * * * * *"}, {**NIGHTLY, "timezone": "Nowhere/Land"},
           {"job": JOB}, {"every": 1, "cron": "@daily", "job": JOB},
           {"every": 1, "job": {**JOB, "delay": 1}}, {"every": 0.5, "job": JOB}]  # fmt: skip
    assert [validator.is_valid(b) for b in good] == [True] * len(good)
    assert [validator.is_valid(b) for b in bad] == [False] * len(bad)
