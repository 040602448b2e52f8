"""The queue settings endpoints in-process: ``GET /queues``, ``GET|PATCH /queues/{name}``,
``POST /queues/{name}/pause|resume``, their validation (each bad body or name a 422 that
names the field and changes nothing), their roles and their OpenAPI description."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema_rs
import pytest

from leaseq.core import limits
from tests.support.inproc import InProcessServer, settings_for

DEFAULTS = {"paused": False, "concurrency": None, "rate_limit": None, "key_concurrency": None}
NO_JOBS = dict.fromkeys(("QUEUED", "LEASED", "DONE", "DEAD", "CANCELLED"), 0)


def settings_of(queue: dict[str, Any]) -> dict[str, Any]:
    return {k: queue[k] for k in DEFAULTS}


def patch(http: httpx.Client, name: str, body: Any) -> httpx.Response:
    return http.patch(f"/queues/{name}", json=body)


def test_an_unknown_queue_answers_its_defaults_not_404(http: httpx.Client) -> None:
    r = http.get("/queues/never-used")
    assert r.status_code == 200, r.text
    assert r.json() == {"queue": {"name": "never-used", **DEFAULTS, "counts": NO_JOBS}}


def test_list_by_name_with_counts_and_settings(http: httpx.Client) -> None:
    http.post("/enqueue", json={"jobs": [{"payload": i, "queue": "b-jobs"} for i in range(3)]})
    http.post("/poll", json={"worker_id": "w", "queues": ["b-jobs"]})
    assert patch(http, "a-settings", {"concurrency": 4}).status_code == 200
    queues = http.get("/queues").json()["queues"]
    by_name = {q["name"]: q for q in queues}
    assert [q["name"] for q in queues] == sorted(by_name) and {"a-settings", "b-jobs"} <= set(
        by_name
    )
    assert by_name["b-jobs"]["counts"] == {**NO_JOBS, "QUEUED": 2, "LEASED": 1}
    assert settings_of(by_name["a-settings"]) == {**DEFAULTS, "concurrency": 4}
    # /stats keeps its shape: counts and the oldest job's age, no settings.
    stats = http.get("/stats").json()["queues"]["b-jobs"]
    assert set(stats) == {*NO_JOBS, "oldest_queued_age_s"}


def test_patch_changes_what_it_names_and_keeps_the_rest(http: httpx.Client) -> None:
    body = {"concurrency": 3, "rate_limit": {"count": 10, "per_s": 1.5}, "key_concurrency": 1}
    r = patch(http, "mail", body)
    assert r.status_code == 200, r.text
    assert settings_of(r.json()["queue"]) == {**DEFAULTS, **body}
    r = patch(http, "mail", {"paused": True})
    assert settings_of(r.json()["queue"]) == {**DEFAULTS, **body, "paused": True}
    r = patch(http, "mail", {"rate_limit": None, "concurrency": 7})
    expected = {**DEFAULTS, **body, "paused": True, "rate_limit": None, "concurrency": 7}
    assert settings_of(r.json()["queue"]) == expected
    assert settings_of(http.get("/queues/mail").json()["queue"]) == expected


def test_pause_and_resume(http: httpx.Client) -> None:
    http.post(
        "/enqueue", json={"jobs": [{"payload": 1, "queue": "p"}, {"payload": 2, "queue": "o"}]}
    )
    r = http.post("/queues/p/pause")
    assert r.status_code == 200 and r.json()["queue"]["paused"] is True, r.text
    assert http.post("/queues/p/pause").json()["queue"]["paused"] is True  # twice: the same
    leased = http.post("/poll", json={"worker_id": "w", "queues": ["p", "o"], "max_jobs": 5})
    assert [j["queue"] for j in leased.json()["jobs"]] == ["o"]
    r = http.post("/queues/p/resume")
    assert r.status_code == 200 and r.json()["queue"]["paused"] is False, r.text
    (job,) = http.post("/poll", json={"worker_id": "w", "queues": ["p"]}).json()["jobs"]
    assert job["queue"] == "p" and job["attempts"] == 1  # held back: no attempt spent


def test_a_rate_window_is_kept_to_the_millisecond(http: httpx.Client) -> None:
    r = patch(http, "r", {"rate_limit": {"count": 1, "per_s": 0.0014}})
    assert r.json()["queue"]["rate_limit"] == {"count": 1, "per_s": 0.001}
    r = patch(http, "r", {"rate_limit": {"count": 5, "per_s": 60}})
    assert r.json()["queue"]["rate_limit"] == {"count": 5, "per_s": 60.0}


def test_whole_number_floats_are_integers_here_too(http: httpx.Client) -> None:
    r = patch(http, "f", {"concurrency": 3.0, "rate_limit": {"count": 2.0, "per_s": 1}})
    assert r.status_code == 200, r.text
    assert r.json()["queue"]["concurrency"] == 3 and r.json()["queue"]["rate_limit"]["count"] == 2


def test_concurrency_key_is_kept_and_shown(http: httpx.Client) -> None:
    r = http.post("/enqueue", json={"payload": 1, "queue": "k", "concurrency_key": "acct-7"})
    assert r.status_code == 201 and r.json()["job"]["concurrency_key"] == "acct-7", r.text
    assert (
        http.post("/enqueue", json={"payload": 2, "queue": "k"}).json()["job"]["concurrency_key"]
        is None
    )
    job_id = r.json()["job"]["id"]
    assert http.get(f"/jobs/{job_id}").json()["job"]["concurrency_key"] == "acct-7"
    leased = http.post("/poll", json={"worker_id": "w", "queues": ["k"], "max_jobs": 2})
    assert {j["concurrency_key"] for j in leased.json()["jobs"]} == {"acct-7", None}


# -- bad input ---------------------------------------------------------------------------

HUGE = limits.MAX_QUEUE_CONCURRENCY + 1
BAD_BODIES = [
    ({}, "at least one"),
    ({"paused": None}, "paused"),
    ({"paused": "yes"}, "paused"),
    ({"paused": 1}, "paused"),
    ({"concurrency": 0}, "concurrency"),
    ({"concurrency": -1}, "concurrency"),
    ({"concurrency": HUGE}, "concurrency"),
    ({"concurrency": 1e300}, "concurrency"),
    ({"concurrency": 2.5}, "concurrency"),
    ({"concurrency": "3"}, "concurrency"),
    ({"concurrency": True}, "concurrency"),
    ({"key_concurrency": 0}, "key_concurrency"),
    ({"key_concurrency": HUGE}, "key_concurrency"),
    ({"key_concurrency": [1]}, "key_concurrency"),
    ({"rate_limit": {}}, "rate_limit"),
    ({"rate_limit": 10}, "rate_limit"),
    ({"rate_limit": "10/1s"}, "rate_limit"),
    ({"rate_limit": {"count": 10}}, "per_s"),
    ({"rate_limit": {"per_s": 1}}, "count"),
    ({"rate_limit": {"count": 0, "per_s": 1}}, "rate_limit.count"),
    ({"rate_limit": {"count": -5, "per_s": 1}}, "rate_limit.count"),
    ({"rate_limit": {"count": limits.MAX_RATE_COUNT + 1, "per_s": 1}}, "rate_limit.count"),
    ({"rate_limit": {"count": 1, "per_s": 0}}, "rate_limit.per_s"),
    ({"rate_limit": {"count": 1, "per_s": -1}}, "rate_limit.per_s"),
    ({"rate_limit": {"count": 1, "per_s": 0.0001}}, "rate_limit.per_s"),
    ({"rate_limit": {"count": 1, "per_s": limits.MAX_RATE_WINDOW_S + 1}}, "rate_limit.per_s"),
    ({"rate_limit": {"count": 1, "per_s": "1s"}}, "rate_limit.per_s"),
    ({"rate_limit": {"count": 1, "per_s": 1, "burst": 2}}, "burst"),
    ({"concurrency": 2, "max_concurrency": 3}, "max_concurrency"),
    ({"name": "other"}, "name"),
    ([{"concurrency": 1}], "object"),
    ("paused", "object"),
]
BAD_NAMES = ["a%20b", "x" * (limits.MAX_QUEUE_NAME_CHARS + 1), "%C3%A9t%C3%A9", "a%00"]


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[httpx.Client]:
    with InProcessServer(settings_for(tmp_path_factory.mktemp("queues"))) as server:
        client = server.client()
        body = {"concurrency": 2, "rate_limit": {"count": 3, "per_s": 1}, "key_concurrency": 1}
        assert patch(client, "set", body).status_code == 200
        yield client


@pytest.mark.parametrize(("body", "names"), BAD_BODIES)
def test_a_bad_patch_is_a_422_naming_the_field_and_changes_nothing(
    shared: httpx.Client, body: Any, names: str
) -> None:
    before = shared.get("/queues").json()
    for name in ("set", "unset"):
        r = patch(shared, name, body)
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "invalid_request"
        assert names in r.json()["error"]["message"], r.text
    assert shared.get("/queues").json() == before


def test_a_body_that_is_not_json_is_a_400_and_changes_nothing(shared: httpx.Client) -> None:
    before = shared.get("/queues").json()
    for content in (b"", b"{", b"paused=true"):
        r = shared.patch(
            "/queues/set", content=content, headers={"content-type": "application/json"}
        )
        assert r.status_code == 400 and r.json()["error"]["code"] == "malformed_json", r.text
    assert shared.get("/queues").json() == before


@pytest.mark.parametrize("name", BAD_NAMES)
def test_a_bad_queue_name_in_the_path_is_a_422_naming_it(shared: httpx.Client, name: str) -> None:
    before = shared.get("/queues").json()
    for method, path, body in [
        ("GET", f"/queues/{name}", None),
        ("PATCH", f"/queues/{name}", {"paused": True}),
        ("POST", f"/queues/{name}/pause", None),
        ("POST", f"/queues/{name}/resume", None),
    ]:
        r = shared.request(method, path, json=body)
        assert r.status_code == 422, (method, path, r.text)
        assert "name" in r.json()["error"]["message"], r.text
    assert shared.get("/queues").json() == before


def test_wrong_methods_and_paths(shared: httpx.Client) -> None:
    assert shared.get("/queues/set/pause").status_code == 405
    assert shared.put("/queues/set", json={"paused": True}).status_code == 405
    assert shared.post("/queues").status_code == 405


# -- roles -------------------------------------------------------------------------------


def test_writes_need_an_admin_token(app_server_factory: Any) -> None:
    server: InProcessServer = app_server_factory(tokens=("read:r", "producer:p", "worker:w", "a"))

    def as_(token: str) -> httpx.Client:
        return server.client(headers={"Authorization": f"Bearer {token}"})

    for token in ("r", "p", "w"):
        http = as_(token)
        assert http.get("/queues").status_code == 200
        assert http.get("/queues/q").status_code == 200
        for method, path in [("PATCH", "/queues/q"), ("POST", "/queues/q/pause"),
                             ("POST", "/queues/q/resume")]:  # fmt: skip
            body = {"paused": True} if method == "PATCH" else None
            r = http.request(method, path, json=body)
            assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden", r.text
    assert server.client().get("/queues").status_code == 401
    admin = as_("a")
    assert admin.post("/queues/q/pause").json()["queue"]["paused"] is True
    assert as_("r").get("/queues/q").json()["queue"]["paused"] is True
    assert patch(admin, "q", {"paused": False, "concurrency": 1}).status_code == 200


# -- the OpenAPI document ----------------------------------------------------------------


def test_the_document_describes_the_queue_endpoints(shared: httpx.Client) -> None:
    doc = shared.get("/openapi.json").json()
    paths = doc["paths"]
    assert set(paths["/queues"]) == {"get"}
    assert set(paths["/queues/{name}"]) == {"get", "patch"}
    assert set(paths["/queues/{name}/pause"]) == set(paths["/queues/{name}/resume"]) == {"post"}
    for path, method in [("/queues/{name}", "patch"), ("/queues/{name}/pause", "post")]:
        assert "security" in paths[path][method] and "admin" in paths[path][method]["description"]
    (param,) = paths["/queues/{name}"]["get"]["parameters"]
    assert param["in"] == "path" and "pattern" in param["schema"]
    schemas = doc["components"]["schemas"]
    assert {"QueuePatchIn", "RateLimitIn", "QueueOut", "QueueEnvelope", "QueuesOut"} <= set(schemas)
    assert "concurrency_key" in schemas["JobSpecIn"]["properties"]
    assert "concurrency_key" in schemas["JobOut"]["required"]


PATCHES = [
    {}, {"paused": True}, {"paused": None}, {"concurrency": None}, {"concurrency": 0},
    {"concurrency": 5.0}, {"concurrency": 5.5}, {"key_concurrency": HUGE},
    {"rate_limit": None}, {"rate_limit": {"count": 1, "per_s": 0.5}},
    {"rate_limit": {"count": 1, "per_s": 0}}, {"rate_limit": {"count": 1}}, {"other": 1},
]  # fmt: skip


def test_the_document_calls_valid_exactly_what_the_server_accepts(shared: httpx.Client) -> None:
    doc = shared.get("/openapi.json").json()
    schemas = doc["components"]["schemas"]
    root = {"$ref": "#/components/schemas/QueuePatchIn", "components": {"schemas": schemas}}
    validator = jsonschema_rs.Draft202012Validator(root)
    name_schema = doc["paths"]["/queues/{name}"]["patch"]["parameters"][0]["schema"]
    names = jsonschema_rs.Draft202012Validator(name_schema)
    for body in PATCHES:
        r = patch(shared, "doc", body)
        assert r.status_code in (200, 422), r.text
        assert validator.is_valid(body) == (r.status_code == 200), (body, r.text)
    assert names.is_valid("a.b:c-d_e") and not names.is_valid("a b") and not names.is_valid("")
    patch(shared, "doc", {"paused": False, "concurrency": None, "key_concurrency": None})
