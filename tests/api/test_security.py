"""Authentication by role, resource limits and TLS, against real server processes."""

from __future__ import annotations

import ssl
import subprocess
from pathlib import Path

import httpx
import pytest

import leaseq
from leaseq.core.tokens import Role, allows, parse_tokens, role_of, secret_of
from tests.conftest import FAST
from tests.support.server import ServerProcess

TOKENS = ["producer:p-secret", "worker:w-secret,read:r-secret", "the-admin"]


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_token_parsing_and_roles() -> None:
    tokens = parse_tokens(TOKENS)
    assert [(t.role, t.secret) for t in tokens] == [
        (Role.PRODUCER, "p-secret"), (Role.WORKER, "w-secret"), (Role.READ, "r-secret"),
        (Role.ADMIN, "the-admin"),
    ]  # fmt: skip
    assert role_of(tokens, "w-secret") is Role.WORKER and role_of(tokens, "nope") is None
    assert parse_tokens(["weird:prefix:is-a-secret"])[0] == parse_tokens(["x"])[0].__class__(
        Role.ADMIN, "weird:prefix:is-a-secret"
    )
    assert secret_of("worker:abc") == "abc" and secret_of("abc") == "abc"
    assert allows(Role.ADMIN, Role.WORKER) and allows(Role.WORKER, Role.READ)
    assert not allows(Role.PRODUCER, Role.WORKER) and not allows(Role.READ, Role.PRODUCER)
    with pytest.raises(ValueError, match="empty"):
        parse_tokens(["worker:"])


@pytest.fixture
def secured(server_factory) -> ServerProcess:  # type: ignore[no-untyped-def]
    args = [arg for t in TOKENS for arg in ("--token", t)]
    return server_factory(*FAST, *args)  # type: ignore[no-any-return]


def test_every_route_but_health_needs_a_token(secured: ServerProcess) -> None:
    with httpx.Client(base_url=secured.url) as http:
        assert http.get("/health").status_code == 200
        guarded = [("POST", "/enqueue"), ("POST", "/poll"), ("GET", "/stats"), ("GET", "/jobs"),
                   ("GET", "/metrics"), ("POST", "/dead/requeue")]  # fmt: skip
        for method, path in guarded:
            r = http.request(method, path, json={})
            assert r.status_code == 401, path
            assert r.headers["www-authenticate"].startswith("Bearer")
            assert r.json()["error"]["code"] == "unauthorized"
        assert http.get("/stats", headers=_bearer("wrong")).status_code == 401
        assert http.get("/stats", headers={"Authorization": "Basic the-admin"}).status_code == 401


def test_roles_limit_what_each_token_may_do(secured: ServerProcess) -> None:
    with httpx.Client(base_url=secured.url) as http:
        job = {"payload": 1}
        assert http.post("/enqueue", json=job, headers=_bearer("w-secret")).status_code == 403
        assert http.post("/enqueue", json=job, headers=_bearer("r-secret")).status_code == 403
        r = http.post("/enqueue", json={"payload": 1, "max_tries": 1}, headers=_bearer("p-secret"))
        assert r.status_code == 201
        poll = {"worker_id": "w"}
        assert http.post("/poll", json=poll, headers=_bearer("p-secret")).status_code == 403
        (leased,) = http.post("/poll", json=poll, headers=_bearer("w-secret")).json()["jobs"]
        fail = {"job_id": leased["id"], "lease_token": leased["lease_token"]}
        assert http.post("/fail", json=fail, headers=_bearer("w-secret")).status_code == 200
        requeue = {"job_ids": [leased["id"]]}
        r = http.post("/dead/requeue", json=requeue, headers=_bearer("w-secret"))
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        r = http.post("/dead/requeue", json=requeue, headers=_bearer("the-admin"))
        assert r.json() == {"requeued": 1}
        assert http.get("/stats", headers=_bearer("r-secret")).status_code == 200


def test_the_sdk_sends_the_secret_of_a_role_token(secured: ServerProcess) -> None:
    with leaseq.Client(secured.url, token="producer:p-secret") as client:
        assert client.enqueue({"x": 1}).state == "QUEUED"
    with leaseq.Client(secured.url, token="bad") as client, pytest.raises(leaseq.LeaseqError):
        client.enqueue({"x": 1})


def test_poll_rate_limit_answers_429_with_retry_after(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(*FAST, "--poll-rate", "5")
    with httpx.Client(base_url=server.url) as http:
        codes = [http.post("/poll", json={"worker_id": "w"}).status_code for _ in range(15)]
        assert codes[:10] == [200] * 10 and 429 in codes[10:]
        r = http.post("/poll", json={"worker_id": "w"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.json()["error"]["code"] == "rate_limited"
        assert http.post("/enqueue", json={"payload": 1}).status_code == 201  # polls only


def test_queue_depth_limit_pushes_back_on_producers(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(*FAST, "--max-queue-depth", "3")
    with httpx.Client(base_url=server.url) as http:
        assert (
            http.post("/enqueue", json={"jobs": [{"payload": i} for i in range(3)]}).status_code
            == 201
        )
        r = http.post("/enqueue", json={"payload": 4})
        assert r.status_code == 429 and r.json()["error"]["code"] == "queue_full"
        assert "limit is 3" in r.json()["error"]["message"]
        assert http.post("/enqueue", json={"payload": 1, "queue": "other"}).status_code == 201
        assert http.get("/stats").json()["queues"]["default"]["QUEUED"] == 3


def test_tls(server_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    server: ServerProcess = server_factory(
        *FAST, "--ssl-certfile", str(cert), "--ssl-keyfile", str(key)
    )
    assert server.url.startswith("https://")
    with httpx.Client(base_url=server.url, verify=ssl.create_default_context(cafile=cert)) as http:
        assert http.post("/enqueue", json={"payload": 1}).status_code == 201
    with pytest.raises(httpx.RemoteProtocolError):
        httpx.get(server.url.replace("https", "http") + "/health")
