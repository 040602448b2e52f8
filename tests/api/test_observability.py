"""Structured logs as a real ``leaseq serve`` writes them (its log configuration and
output are the process's; the rest of observability is tested in ``tests/app``)."""

from __future__ import annotations

import json
import time

import httpx

from tests.conftest import FAST
from tests.support.server import ServerProcess


def _lease(http: httpx.Client, worker: str = "w1", **kw: object) -> dict[str, object]:
    (job,) = http.post("/poll", json={"worker_id": worker, "wait": 5, **kw}).json()["jobs"]
    return job  # type: ignore[no-any-return]


def test_json_logs_carry_job_fields(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(*FAST, "--log-format", "json", "--log-level", "debug")
    with httpx.Client(base_url=server.url) as http:
        http.post("/enqueue", json={"payload": 1, "max_tries": 1})
        job = _lease(http, "w9", lease_seconds=1)
        deadline = time.monotonic() + 5
        while http.get(f"/jobs/{job['id']}").json()["job"]["state"] != "DEAD":
            assert time.monotonic() < deadline
            time.sleep(0.1)
    lines = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    mine = [e for e in lines if e.get("job_id") == job["id"]]
    assert [e["event"] for e in mine] == ["enqueued", "leased", "expired"]
    assert mine[1]["worker"] == "w9" and mine[1]["level"] == "debug"
    assert mine[2]["level"] == "warning" and mine[2]["state"] == "DEAD"
