"""Authentication by role and resource limits, against the app in-process."""

from __future__ import annotations

import pytest

import leaseq
from leaseq.core.tokens import Role, allows, parse_tokens, role_of, secret_of
from tests.app.conftest import MakeServer
from tests.support.inproc import BASE_URL, FAST, InProcessServer

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
def secured(app_server_factory: MakeServer) -> InProcessServer:
    return app_server_factory(**FAST, tokens=tuple(TOKENS))


def test_every_route_but_health_needs_a_token(secured: InProcessServer) -> None:
    with secured.client() as http:
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


def test_roles_limit_what_each_token_may_do(secured: InProcessServer) -> None:
    with secured.client() as http:
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


def test_the_sdk_sends_the_secret_of_a_role_token(secured: InProcessServer) -> None:
    transport = secured.transport()
    with leaseq.Client(BASE_URL, token="producer:p-secret", transport=transport) as client:
        assert client.enqueue({"x": 1}).state == "QUEUED"
    with (
        leaseq.Client(BASE_URL, token="bad", transport=transport) as client,
        pytest.raises(leaseq.LeaseqError),
    ):
        client.enqueue({"x": 1})


def test_poll_rate_limit_answers_429_with_retry_after(app_server_factory: MakeServer) -> None:
    server = app_server_factory(**FAST, poll_rate=5)
    with server.client() as http:
        codes = [http.post("/poll", json={"worker_id": "w"}).status_code for _ in range(15)]
        assert codes[:10] == [200] * 10 and 429 in codes[10:]
        r = http.post("/poll", json={"worker_id": "w"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
        assert r.json()["error"]["code"] == "rate_limited"
        assert http.post("/enqueue", json={"payload": 1}).status_code == 201  # polls only


def test_queue_depth_limit_pushes_back_on_producers(app_server_factory: MakeServer) -> None:
    server = app_server_factory(**FAST, max_queue_depth=3)
    with server.client() as http:
        assert (
            http.post("/enqueue", json={"jobs": [{"payload": i} for i in range(3)]}).status_code
            == 201
        )
        r = http.post("/enqueue", json={"payload": 4})
        assert r.status_code == 429 and r.json()["error"]["code"] == "queue_full"
        assert "limit is 3" in r.json()["error"]["message"]
        assert http.post("/enqueue", json={"payload": 1, "queue": "other"}).status_code == 201
        assert http.get("/stats").json()["queues"]["default"]["QUEUED"] == 3
