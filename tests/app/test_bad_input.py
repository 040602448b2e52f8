"""Bad input gets a clear 4xx naming the problem, in one JSON shape, and changes nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import jsonschema_rs
import pytest

from leaseq.core.limits import MAX_CONCURRENCY_KEY_CHARS as MAX_KEY
from tests.support.inproc import InProcessServer, settings_for

TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
CASES = [
    ("/enqueue", b'{"payload": ', 400, "malformed_json", "JSON"),
    ("/enqueue", b"[1, 2]", 422, "invalid_request", "JSON object"),
    ("/enqueue", b'"just a string"', 422, "invalid_request", "JSON object"),
    ("/enqueue", b'{"queue": "a"}', 422, "invalid_request", "payload"),
    ("/enqueue", b'{"payload": 1, "max_retries": 3}', 422, "invalid_request", "max_retries"),
    ("/enqueue", b'{"payload": 1, "priority": "high"}', 422, "invalid_request", "priority"),
    ("/enqueue", b'{"payload": 1, "max_tries": 0}', 422, "invalid_request", "max_tries"),
    ("/enqueue", b'{"payload": 1, "max_tries": 1001}', 422, "invalid_request", "max_tries"),
    ("/enqueue", b'{"payload": 1, "queue": ""}', 422, "invalid_request", "queue"),
    ("/enqueue", b'{"payload": 1, "queue": "a b"}', 422, "invalid_request", "queue"),
    # Python's $ matches before a final newline; names must not carry one into logs.
    ("/enqueue", b'{"payload": 1, "queue": "emails\\n"}', 422, "invalid_request", "queue"),
    ("/poll", b'{"worker_id": "w", "queues": ["a\\n"]}', 422, "invalid_request", "queues"),
    ("/enqueue", b'{"payload": 1, "delay": -1}', 422, "invalid_request", "delay"),
    ("/enqueue", b'{"payload": 1, "run_at": "tomorrow"}', 422, "invalid_request", "run_at"),
    ("/enqueue", b'{"payload": 1, "delay": 1, "run_at": "2030-01-01T00:00:00Z"}', 422,
     "invalid_request", "delay"),
    ("/enqueue", b'{"jobs": []}', 422, "invalid_request", "jobs"),
    ("/enqueue", b'{"jobs": [{"payload": 1}, {"payload": 2, "max_tries": -5}]}', 422,
     "invalid_request", "jobs[1].max_tries"),
    ("/poll", b"{}", 422, "invalid_request", "worker_id"),
    ("/poll", b'{"worker_id": "w", "max_jobs": 101}', 422, "invalid_request", "max_jobs"),
    ("/poll", b'{"worker_id": "w", "wait": 31}', 422, "invalid_request", "wait"),
    ("/poll", b'{"worker_id": "w", "lease_seconds": 0.5}', 422, "invalid_request", "lease_seconds"),
    ("/poll", b'{"worker_id": "w", "queues": []}', 422, "invalid_request", "queues"),
    ("/ack", b'{"job_id": "x"}', 422, "invalid_request", "lease_token"),
    ("/fail", b'{"job_id": "x", "lease_token": "t", "retry": "yes"}', 422, "invalid_request",
     "retry"),
    ("/dead/requeue", b"{}", 422, "invalid_request", "job_ids"),
    ("/dead/requeue", b'{"job_ids": ["a"], "queue": "q"}', 422, "invalid_request", "job_ids"),
    ("/dead/requeue", b'{"job_ids": null, "queue": null}', 422, "invalid_request", "job_ids"),
    ("/enqueue", b'{"payload": 1, "concurrency_key": ""}', 422, "invalid_request",
     "concurrency_key"),
    ("/enqueue", b'{"payload": 1, "concurrency_key": "%s"}' % (b"k" * (MAX_KEY + 1)), 422,
     "invalid_request", "concurrency_key"),
    ("/enqueue", b'{"payload": 1, "concurrency_key": 7}', 422, "invalid_request",
     "concurrency_key"),
    ("/enqueue", b'{"payload": 1, "concurrency_key": "a\\u0000"}', 422, "invalid_request",
     "concurrency_key"),
    # Whole-number floats are integers (JSON Schema says so); any other float is not.
    ("/poll", b'{"worker_id": "w", "max_jobs": 92.5}', 422, "invalid_request", "max_jobs"),
    ("/poll", b'{"worker_id": "w", "max_jobs": 101.0}', 422, "invalid_request", "max_jobs"),
    ("/poll", b'{"worker_id": "w", "max_jobs": "5"}', 422, "invalid_request", "max_jobs"),
    ("/enqueue", b'{"payload": 1, "max_tries": 2.5}', 422, "invalid_request", "max_tries"),
    ("/enqueue", b'{"payload": 1, "priority": 1e300}', 422, "invalid_request", "priority"),
    ("/enqueue", b'{"jobs": [{"payload": 1, "priority": 3.0}, {"payload": 2, "priority": 0.5}]}',
     422, "invalid_request", "jobs[1].priority"),
    # NUL in free text: PostgreSQL cannot store it, so no backend may accept it.
    ("/enqueue", b'{"payload": 1, "task": "a\\u0000b"}', 422, "invalid_request", "task"),
    ("/enqueue", b'{"payload": 1, "idempotency_key": "\\u0000"}', 422, "invalid_request",
     "idempotency_key"),
    ("/poll", b'{"worker_id": "w\\u0000"}', 422, "invalid_request", "worker_id"),
    ("/fail", b'{"job_id": "x", "lease_token": "t", "error": "boom\\u0000"}', 422,
     "invalid_request", "error"),
    # Tags and trace context (issue 16).
    ("/enqueue", b'{"payload": 1, "tags": %s}' % json.dumps([f"t{i}" for i in range(21)]).encode(),
     422, "invalid_request", "tags"),
    ("/enqueue", b'{"payload": 1, "tags": ["%s"]}' % (b"t" * 65), 422, "invalid_request", "tags"),
    ("/enqueue", b'{"payload": 1, "tags": [""]}', 422, "invalid_request", "tags[0]"),
    ("/enqueue", b'{"payload": 1, "tags": "one"}', 422, "invalid_request", "tags"),
    ("/enqueue", b'{"payload": 1, "tags": ["a", 7]}', 422, "invalid_request", "tags[1]"),
    ("/enqueue", b'{"jobs": [{"payload": 1}, {"payload": 1, "tags": ["a\\u0000"]}]}', 422,
     "invalid_request", "jobs[1].tags[0]"),
    ("/enqueue", b'{"payload": 1, "traceparent": "%s"}' % TRACE.upper().encode(), 422,
     "invalid_request", "traceparent"),
    ("/enqueue", b'{"payload": 1, "traceparent": "%s"}' % ("ff" + TRACE[2:]).encode(), 422,
     "invalid_request", "traceparent"),
    ("/enqueue", b'{"payload": 1, "traceparent": "00-%s-00f067aa0ba902b7-01"}' % (b"0" * 32),
     422, "invalid_request", "traceparent"),
    ("/enqueue", b'{"payload": 1, "traceparent": "00-%s-%s-01"}' % (b"a" * 32, b"0" * 16),
     422, "invalid_request", "traceparent"),
    ("/enqueue", b'{"payload": 1, "traceparent": "%s-00"}' % TRACE.encode(), 422,
     "invalid_request", "traceparent"),
    ("/enqueue", b'{"payload": 1, "traceparent": ""}', 422, "invalid_request", "traceparent"),
]  # fmt: skip


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[InProcessServer]:
    """One app for the module, as ``leaseq serve --max-body 4096`` (no other option)."""
    tmp = tmp_path_factory.mktemp("bad-input")
    with InProcessServer(settings_for(tmp, max_body=4096)) as server:
        yield server


@pytest.mark.parametrize(("path", "body", "status", "code", "names"), CASES)
def test_rejected_with_a_message_naming_the_problem(
    shared_server: InProcessServer, path: str, body: bytes, status: int, code: str, names: str
) -> None:
    with shared_server.client() as http:
        before = http.get("/stats").json()
        r = http.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == status, r.text
        assert r.json()["error"]["code"] == code
        assert names in r.json()["error"]["message"]
        assert http.get("/stats").json() == before


QUERIES = [
    ("/jobs", [("tag", "t" * 65)], "tag"),
    ("/jobs", [("tag", "")], "tag"),
    ("/jobs", [("tag", f"t{i}") for i in range(21)], "tag"),
    ("/jobs", [("task", "")], "task"),
    ("/jobs/{id}", [("wait", "31")], "wait"),
    ("/jobs/{id}", [("wait", "-1")], "wait"),
    ("/jobs/{id}", [("wait", "soon")], "wait"),
]


@pytest.mark.parametrize(("path", "params", "names"), QUERIES)
def test_bad_queries_are_refused_naming_the_parameter(
    shared_server: InProcessServer, path: str, params: list[tuple[str, str]], names: str
) -> None:
    with shared_server.client() as http:
        job = http.post("/enqueue", json={"payload": 1, "queue": "queries"}).json()["job"]
        # Cancelled, so that the queue has no ready job whose age the other tests see move.
        assert http.post(f"/jobs/{job['id']}/cancel").status_code == 200
        before = http.get("/jobs", params={"queue": "queries"}).json()
        r = http.get(path.format(id=job["id"]), params=httpx.QueryParams(tuple(params)))
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_request"
        assert f"`$.{names}" in r.json()["error"]["message"], r.text
        assert http.get("/jobs", params={"queue": "queries"}).json() == before


def test_body_over_the_limit_is_413_and_writes_nothing(shared_server: InProcessServer) -> None:
    with shared_server.client() as http:
        before = http.get("/stats").json()
        r = http.post("/enqueue", json={"payload": "x" * 5000})
        assert r.status_code == 413 and r.json()["error"]["code"] == "payload_too_large"

        def chunks():  # type: ignore[no-untyped-def]
            yield b'{"payload": "'
            yield b"y" * 5000
            yield b'"}'

        # Without a Content-Length the server counts the bytes as they arrive.
        r = http.post("/enqueue", content=chunks())
        assert r.status_code == 413
        assert http.get("/stats").json() == before


def test_whole_number_floats_are_accepted_as_integers(shared_server: InProcessServer) -> None:
    """``92.0`` is an integer to JSON Schema and to clients that only have floats; the
    payload, which is the user's, keeps its floats as they were sent."""
    with shared_server.client() as http:
        one = {"payload": {"x": 2.0}, "queue": "floats", "max_tries": 3.0, "priority": -7.0}
        r = http.post("/enqueue", json=one)
        assert r.status_code == 201, r.text
        job = r.json()["job"]
        assert (job["max_tries"], job["priority"], job["payload"]) == (3, -7, {"x": 2.0})
        assert isinstance(job["max_tries"], int) and isinstance(job["payload"]["x"], float)
        r = http.post("/enqueue", json={"jobs": [{"payload": 1, "queue": "floats",
                                                  "max_tries": 1e1}]})  # fmt: skip
        assert r.status_code == 201 and r.json()["jobs"][0]["max_tries"] == 10, r.text
        r = http.post("/poll", json={"worker_id": "w", "queues": ["floats"], "max_jobs": 2.0})
        assert r.status_code == 200 and len(r.json()["jobs"]) == 2, r.text
        assert http.get("/jobs", params={"queue": "floats", "limit": "1.0"}).json()["jobs"]
        r = http.get("/jobs", params={"queue": "floats", "limit": "1.5"})
        assert r.status_code == 422 and "limit" in r.json()["error"]["message"]


LATER = "2030-01-01T00:00:00Z"
RULES = [
    ("/dead/requeue", "RequeueIn", [
        {}, {"queue": "q"}, {"job_ids": ["a"]}, {"job_ids": ["a"], "queue": "q"},
        {"job_ids": None, "queue": "q"}, {"job_ids": ["a"], "queue": None},
        {"job_ids": None, "queue": None},
    ]),
    ("/enqueue", "JobSpecIn", [
        {"delay": 1}, {"run_at": LATER}, {"delay": 1, "run_at": LATER},
        {"delay": None, "run_at": LATER}, {"delay": 1, "run_at": None},
        {"max_tries": 3.0}, {"max_tries": 3.5}, {"priority": -1e3},
        {"traceparent": TRACE}, {"traceparent": "ff" + TRACE[2:]},
        {"traceparent": TRACE[:3] + "0" * 32 + TRACE[35:]},
        {"traceparent": TRACE[:36] + "0" * 16 + "-01"},
        {"tags": ["a", "b"]}, {"tags": [f"t{i}" for i in range(21)]}, {"tags": ["t" * 65]},
    ]),
]  # fmt: skip


@pytest.mark.parametrize(("path", "schema", "bodies"), RULES)
def test_the_document_states_the_rules_the_server_applies(
    shared_server: InProcessServer, path: str, schema: str, bodies: list[dict[str, object]]
) -> None:
    """Rules between fields and whole-number floats: what /openapi.json calls valid is
    exactly what the server accepts, so generated clients and fuzzers agree with it."""
    with shared_server.client() as http:
        doc = http.get("/openapi.json").json()
        validator = jsonschema_rs.Draft202012Validator(doc["components"]["schemas"][schema])
        for body in bodies:
            if path == "/enqueue":
                body = {"payload": 1, "queue": "doc", **body}
            r = http.post(path, json=body)
            assert r.status_code in (200, 201, 422), r.text
            assert validator.is_valid(body) == (r.status_code != 422), (body, r.text)


def test_unknown_routes_and_methods_use_the_same_error_shape(
    shared_server: InProcessServer,
) -> None:
    with shared_server.client() as http:
        r = http.get("/nope")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        r = http.get("/enqueue")
        assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
        assert r.headers["allow"] == "POST"


def test_sql_in_free_text_fields_is_just_text(shared_server: InProcessServer) -> None:
    """Queue names are restricted by pattern; task, key and worker id are free text."""
    evil = "x'); DROP TABLE jobs; --\""
    with shared_server.client() as http:
        r = http.post(
            "/enqueue",
            json={"payload": evil, "task": evil, "idempotency_key": evil, "queue": "sql"},
        )
        assert r.status_code == 201
        (job,) = http.post("/poll", json={"worker_id": evil, "queues": ["sql"]}).json()["jobs"]
        assert (job["payload"], job["task"], job["lease_owner"]) == (evil, evil, evil)
        assert http.get("/stats").json()["queues"]["sql"]["LEASED"] == 1
