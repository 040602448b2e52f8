"""Bad input gets a clear 4xx naming the problem, in one JSON shape, and changes nothing."""

from __future__ import annotations

import httpx
import pytest

from tests.support.server import ServerProcess

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
    # NUL in free text: PostgreSQL cannot store it, so no backend may accept it.
    ("/enqueue", b'{"payload": 1, "task": "a\\u0000b"}', 422, "invalid_request", "task"),
    ("/enqueue", b'{"payload": 1, "idempotency_key": "\\u0000"}', 422, "invalid_request",
     "idempotency_key"),
    ("/poll", b'{"worker_id": "w\\u0000"}', 422, "invalid_request", "worker_id"),
    ("/fail", b'{"job_id": "x", "lease_token": "t", "error": "boom\\u0000"}', 422,
     "invalid_request", "error"),
]  # fmt: skip


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> ServerProcess:
    tmp = tmp_path_factory.mktemp("bad-input")
    server = ServerProcess(
        f"sqlite:///{tmp / 'db.sqlite'}", tmp / "server.log", ["--max-body", "4096"]
    )
    server.start()
    yield server  # type: ignore[misc]
    server.kill()


@pytest.mark.parametrize(("path", "body", "status", "code", "names"), CASES)
def test_rejected_with_a_message_naming_the_problem(
    shared_server: ServerProcess, path: str, body: bytes, status: int, code: str, names: str
) -> None:
    with httpx.Client(base_url=shared_server.url) as http:
        before = http.get("/stats").json()
        r = http.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == status, r.text
        assert r.json()["error"]["code"] == code
        assert names in r.json()["error"]["message"]
        assert http.get("/stats").json() == before


def test_body_over_the_limit_is_413_and_writes_nothing(shared_server: ServerProcess) -> None:
    with httpx.Client(base_url=shared_server.url) as http:
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


def test_unknown_routes_and_methods_use_the_same_error_shape(shared_server: ServerProcess) -> None:
    with httpx.Client(base_url=shared_server.url) as http:
        r = http.get("/nope")
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found"
        r = http.get("/enqueue")
        assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
        assert r.headers["allow"] == "POST"


def test_sql_in_free_text_fields_is_just_text(shared_server: ServerProcess) -> None:
    """Queue names are restricted by pattern; task, key and worker id are free text."""
    evil = "x'); DROP TABLE jobs; --\""
    with httpx.Client(base_url=shared_server.url) as http:
        r = http.post(
            "/enqueue",
            json={"payload": evil, "task": evil, "idempotency_key": evil, "queue": "sql"},
        )
        assert r.status_code == 201
        (job,) = http.post("/poll", json={"worker_id": evil, "queues": ["sql"]}).json()["jobs"]
        assert (job["payload"], job["task"], job["lease_owner"]) == (evil, evil, evil)
        assert http.get("/stats").json()["queues"]["sql"]["LEASED"] == 1
