"""Issue 14: hostile input gets a clear 4xx, nothing is unbounded, no cross-site request
gets in. Each test names the defect it proves; all run against a real server process."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable

import httpx
import pytest

from leaseq.server.config import Settings
from tests.support.server import ServerProcess

MakeServer = Callable[..., ServerProcess]
JSON = {"Content-Type": "application/json"}
BODIES = {
    "/enqueue": {"payload": 1},
    "/poll": {"worker_id": "w"},
    "/ack": {"job_id": "j", "lease_token": "t"},
    "/fail": {"job_id": "j", "lease_token": "t"},
    "/heartbeat": {"job_id": "j", "lease_token": "t"},
    "/release": {"job_id": "j", "lease_token": "t"},
    "/dead/requeue": {"job_ids": ["j"]},
}


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()["error"]
    assert body["code"] == code, body
    return str(body["message"])


def _raw(port: int, data: bytes, timeout: float = 5.0) -> bytes:
    """Sends ``data`` on a fresh connection and reads until the server closes it."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
        return b"".join(chunks)


# -- defect 1: run_at outside years 1000-9999 -------------------------------------------


@pytest.mark.parametrize(
    "run_at", ["0999-01-01T00:00:00Z", "9999-12-31T23:59:59-23:00", "1000-01-01T00:30:00+01:00"]
)
def test_run_at_outside_four_digit_years_is_refused(http: httpx.Client, run_at: str) -> None:
    one = http.post("/enqueue", json={"payload": 1, "run_at": run_at})
    assert "`$.run_at`" in _error(one, 422, "invalid_request")
    jobs = [{"payload": i} for i in range(3)] + [{"payload": 3, "run_at": run_at}]
    batch = http.post("/enqueue", json={"jobs": jobs})
    assert "`$.jobs[3].run_at`" in _error(batch, 422, "invalid_request")
    assert http.get("/jobs").json()["jobs"] == []


@pytest.mark.parametrize(
    ("run_at", "answer"),
    [("1000-01-01T00:00:00Z", "1000-01-01T00:00:00.000Z"),
     ("9999-12-31T23:59:59.999Z", "9999-12-31T23:59:59.999Z"),
     ("1000-01-01T01:00:00+01:00", "1000-01-01T00:00:00.000Z")],
)  # fmt: skip
def test_the_edges_are_answered_in_rfc3339(http: httpx.Client, run_at: str, answer: str) -> None:
    r = http.post("/enqueue", json={"payload": 1, "run_at": run_at})
    assert r.status_code == 201, r.text
    assert r.json()["job"]["run_at"] == answer


# -- defect 2: deep nesting ---------------------------------------------------------------


@pytest.mark.parametrize("depth", [1000, 100_000])
@pytest.mark.parametrize("path", [*BODIES, "/jobs/x/cancel"])
def test_deep_json_is_a_422_on_every_post(
    http: httpx.Client, server: ServerProcess, path: str, depth: int
) -> None:
    body = '{"payload":' + "[" * depth + "]" * depth + "}"
    r = http.post(path, content=body, headers=JSON)
    if path.endswith("/cancel"):  # takes no body; a body is not read
        assert r.status_code in (404, 422), r.text
        return
    assert "nested deeper than 128" in _error(r, 422, "invalid_request")
    assert "Traceback" not in server.log() and "RecursionError" not in server.log()


def test_nesting_up_to_the_limit_is_accepted(http: httpx.Client) -> None:
    payload = "[" * 127 + "]" * 127  # 128 levels with the envelope
    r = http.post("/enqueue", content='{"payload":' + payload + "}", headers=JSON)
    assert r.status_code == 201, r.text


# -- defects 3 and 4: headers and connections ---------------------------------------------


def test_headers_over_the_limit_get_431(server: ServerProcess, http: httpx.Client) -> None:
    r = http.get("/health", headers={"X-Big": "a" * 40_000})
    assert "over 32768 bytes" in _error(r, 431, "headers_too_large")
    huge = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: " + b"a" * (8 << 20)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        try:
            s.sendall(huge)
        except OSError:
            pass  # closed by the server after the answer: the answer is still readable
        answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 431"), answer[:200]
    assert http.get("/health").status_code == 200


def test_a_request_with_its_body_in_the_same_read_is_not_a_431(http: httpx.Client) -> None:
    """The header budget counts the headers, not the body that follows them."""
    r = http.post("/enqueue", json={"payload": "x" * 200_000})
    assert r.status_code == 201, r.text


def test_silent_and_slow_connections_get_408(server_factory: MakeServer) -> None:
    server = server_factory("--header-timeout", "1")
    start = time.monotonic()
    silent = _raw(server.port, b"")
    assert silent.startswith(b"HTTP/1.1 408"), silent
    assert b'"header_timeout"' in silent
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as slow:
        for byte in b"GET /health HTTP/1.1\r\n":
            try:
                slow.send(bytes([byte]))
            except OSError:
                break
            time.sleep(0.1)
        answer = slow.recv(65536)
    assert answer.startswith(b"HTTP/1.1 408"), answer
    assert time.monotonic() - start < 8


def test_idle_keep_alive_connections_close(server_factory: MakeServer) -> None:
    server = server_factory("--keep-alive", "1")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        start, answer = time.monotonic(), b""
        while chunk := s.recv(65536):  # until the server closes the idle connection
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"}"), answer
        assert 0.5 < time.monotonic() - start < 4.5


def test_connections_over_the_cap_get_503(server_factory: MakeServer) -> None:
    server = server_factory("--max-connections", "20")
    held = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(20)]
    try:
        time.sleep(0.3)
        refused = _raw(server.port, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        assert refused.startswith(b"HTTP/1.1 503"), refused
        assert b'"too_many_connections"' in refused
    finally:
        for s in held:
            s.close()
    deadline = time.monotonic() + 5
    while httpx.get(f"{server.url}/health").status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert server.log().count("connection limit reached") == 1
    assert "accepting at most 20 connections" in server.log()


def test_parser_errors_are_json(server: ServerProcess) -> None:
    for request in (b"FOO / HTTP/1.1\r\n\r\n", b"GET /\xff\xfe HTTP/1.1\r\nHost: x\r\n\r\n"):
        answer = _raw(server.port, request)
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 400"), answer
        assert b"application/json" in head and body.startswith(b'{"error":'), answer


def test_413_is_readable_by_a_client_still_sending(server: ServerProcess) -> None:
    declared = 20 << 20
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as s:
        s.sendall(b"POST /enqueue HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json"
                  b"\r\nContent-Length: %d\r\n\r\n" % declared)  # fmt: skip
        sent, chunk = 0, b" " * 65536
        try:
            while sent < declared:
                s.sendall(chunk)
                sent += len(chunk)
        except OSError:
            pass  # the server stops reading after its drain bound; the answer is there
        answer = s.recv(65536)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"payload_too_large"' in answer


# -- defect 5: cross-site requests --------------------------------------------------------


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
     "application/json; charset=latin-1", "application/jsonx"],
)  # fmt: skip
@pytest.mark.parametrize("path", list(BODIES))
def test_bodies_must_be_json(http: httpx.Client, path: str, content_type: str) -> None:
    headers = {"Content-Type": content_type}
    r = http.post(path, content=httpx.Response(200, json=BODIES[path]).content, headers=headers)
    _error(r, 415, "unsupported_media_type")


def test_json_with_charset_no_type_and_bodyless_cancel_are_taken(http: httpx.Client) -> None:
    headers = {"Content-Type": "Application/JSON; charset=UTF-8"}
    r = http.post("/enqueue", content=b'{"payload":1}', headers=headers)
    assert r.status_code == 201, r.text
    bare = http.post("/enqueue", content=b'{"payload":1}')  # a script's bare body
    assert bare.status_code == 201, bare.text
    job = r.json()["job"]["id"]
    assert http.post(f"/jobs/{job}/cancel").json()["job"]["state"] == "CANCELLED"


def test_a_foreign_origin_is_refused(http: httpx.Client, server: ServerProcess) -> None:
    job = http.post("/enqueue", json={"payload": 1}).json()["job"]["id"]
    for origin in ("http://evil.example", "null", f"http://127.0.0.1:{server.port + 1}"):
        headers = {"Origin": origin}
        _error(http.post(f"/jobs/{job}/cancel", headers=headers), 403, "forbidden_origin")
        _error(http.post("/enqueue", json={"payload": 2}, headers=headers), 403,
               "forbidden_origin")  # fmt: skip
        _error(http.get("/jobs", headers=headers), 403, "forbidden_origin")
    assert http.get(f"/jobs/{job}").json()["job"]["state"] == "QUEUED"
    own = {"Origin": server.url}
    assert http.post("/enqueue", json={"payload": 3}, headers=own).status_code == 201


def test_allow_origin_lets_one_origin_in(server_factory: MakeServer) -> None:
    server = server_factory("--allow-origin", "https://ops.example")
    with httpx.Client(base_url=server.url) as http:
        ok = http.post("/enqueue", json={"payload": 1}, headers={"Origin": "https://ops.example"})
        assert ok.status_code == 201, ok.text
        other = http.post("/enqueue", json={"payload": 1}, headers={"Origin": "https://x.example"})
        _error(other, 403, "forbidden_origin")


def test_star_is_not_an_origin() -> None:
    with pytest.raises(ValueError, match="'\\*' is not allowed"):
        Settings(allow_origins=("*",))


@pytest.mark.parametrize("host", ["localhost", "app.localhost", "127.0.0.1", "127.3.4.5", "[::1]"])
def test_loopback_names_are_answered(http: httpx.Client, server: ServerProcess, host: str) -> None:
    r = http.get("/stats", headers={"Host": f"{host}:{server.port}"})
    assert r.status_code == 200, r.text


def test_other_hosts_are_refused_on_loopback(http: httpx.Client, server: ServerProcess) -> None:
    for host in ("evil.example", f"evil.example:{server.port}", "10.0.0.1", "localhost.evil"):
        _error(http.post("/enqueue", json={"payload": 1}, headers={"Host": host}), 421,
               "unknown_host")  # fmt: skip
    assert http.get("/health", headers={"Host": "10.0.0.1"}).status_code == 200
    assert http.get("/jobs").json()["jobs"] == []


def test_allowed_host_adds_a_name(server_factory: MakeServer) -> None:
    server = server_factory("--allowed-host", "queue.internal")
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/stats", headers={"Host": "queue.internal:80"}).status_code == 200
        _error(http.get("/stats", headers={"Host": "other.internal"}), 421, "unknown_host")


# -- smaller items ------------------------------------------------------------------------


def test_the_dead_warning_names_the_worker(http: httpx.Client, server: ServerProcess) -> None:
    http.post("/enqueue", json={"payload": 1})
    (job,) = http.post("/poll", json={"worker_id": "worker-7"}).json()["jobs"]
    body = {"job_id": job["id"], "lease_token": job["lease_token"], "retry": False}
    assert http.post("/fail", json=body).json()["job"]["state"] == "DEAD"
    line = next(ln for ln in server.log().splitlines() if "dead (queue" in ln)
    assert "worker worker-7" in line and "worker None" not in line


def test_the_dashboard_may_not_be_framed(http: httpx.Client) -> None:
    for path in ("/", "/ui/static/app.js"):
        r = http.get(path)
        assert r.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
    assert "script-src 'self'" in http.get("/").headers["content-security-policy"]
    assert http.get("/docs").headers["x-frame-options"] == "DENY"
