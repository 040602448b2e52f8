"""History, workers, dead-letter groups and metrics over HTTP, against the app in-process."""

from __future__ import annotations

import httpx


def _lease(http: httpx.Client, worker: str = "w1", **kw: object) -> dict[str, object]:
    (job,) = http.post("/poll", json={"worker_id": worker, "wait": 5, **kw}).json()["jobs"]
    return job  # type: ignore[no-any-return]


def test_job_history_explains_a_second_run(http: httpx.Client) -> None:
    job_id = http.post("/enqueue", json={"payload": 1, "max_tries": 3}).json()["job"]["id"]
    first = _lease(http, "A", lease_seconds=1)
    http.post("/heartbeat", json={"job_id": job_id, "lease_token": first["lease_token"],
                                  "lease_seconds": 1})  # fmt: skip
    second = _lease(http, "B")  # A went silent: the lease expired, B runs it again
    http.post("/ack", json={"job_id": job_id, "lease_token": second["lease_token"]})
    events = http.get(f"/jobs/{job_id}/events").json()["events"]
    assert [(e["kind"], e["worker_id"], e["attempt"]) for e in events] == [
        ("enqueued", None, 0), ("leased", "A", 1), ("heartbeat", "A", 1),
        ("expired", "A", 1), ("leased", "B", 2), ("done", "B", 2),
    ]  # fmt: skip
    assert events[3]["error"] == "lease expired" and events[3]["state"] == "QUEUED"
    assert http.get("/jobs/nope/events").status_code == 404


def test_job_history_comes_in_pages(http: httpx.Client) -> None:
    """A job heartbeating for hours has thousands of events: 100 a page by default,
    oldest first, ``next_cursor`` to go on, and the pages add up to the whole history."""
    job_id = http.post("/enqueue", json={"payload": 1}).json()["job"]["id"]
    lease = {"job_id": job_id, "lease_token": _lease(http)["lease_token"]}
    url = f"/jobs/{job_id}/events"
    for _ in range(20):  # a heartbeat in the same millisecond adds no event: keep going
        if len(http.get(url, params={"limit": 1000}).json()["events"]) > 120:
            break
        for _ in range(30):
            assert http.post("/heartbeat", json=lease).status_code == 200
    everything = http.get(url, params={"limit": 1000}).json()
    assert everything["next_cursor"] is None and len(everything["events"]) > 120
    first = http.get(url).json()
    assert len(first["events"]) == 100 and first["next_cursor"] is not None
    pages, cursor = [first], first["next_cursor"]
    for _ in range(10):
        if cursor is None:
            break
        pages.append(http.get(url, params={"limit": 7, "cursor": cursor}).json())
        assert len(pages[-1]["events"]) <= 7
        cursor = pages[-1]["next_cursor"]
    assert cursor is None
    assert [e for p in pages for e in p["events"]] == everything["events"]
    assert [e["kind"] for e in everything["events"][:3]] == ["enqueued", "leased", "heartbeat"]
    for bad in ({"limit": 0}, {"limit": 1001}, {"cursor": "x"}, {"cursor": ""}):
        r = http.get(url, params=bad)
        assert r.status_code == 422 and next(iter(bad)) in r.json()["error"]["message"], r.text
    assert http.get("/jobs/nope/events", params={"limit": 5}).status_code == 404


def test_workers_list_shows_holdings_and_tallies(http: httpx.Client) -> None:
    http.post("/enqueue", json={"jobs": [{"payload": i} for i in range(3)]})
    a, b, c = http.post("/poll", json={"worker_id": "busy", "max_jobs": 3}).json()["jobs"]
    http.post("/ack", json={"job_id": a["id"], "lease_token": a["lease_token"]})
    http.post("/fail", json={"job_id": b["id"], "lease_token": b["lease_token"]})
    http.post("/poll", json={"worker_id": "idle", "queues": ["x", "y"], "concurrency": 16})
    workers = {w["worker_id"]: w for w in http.get("/workers").json()["workers"]}
    assert (workers["idle"]["queues"], workers["idle"]["concurrency"]) == (["x", "y"], 16)
    assert (workers["busy"]["queues"], workers["busy"]["concurrency"]) == (["default"], None)
    for bad in (0, 10_001, "8"):
        r = http.post("/poll", json={"worker_id": "idle", "concurrency": bad})
        assert r.status_code == 422 and "concurrency" in r.text, r.text
    assert (workers["busy"]["jobs"], workers["busy"]["done"], workers["busy"]["failed"]) == (
        [c["id"]], 1, 1,
    )  # fmt: skip
    assert workers["idle"]["jobs"] == [] and workers["idle"]["last_seen_at"].endswith("Z")
    assert http.get("/workers", params={"within": 0}).status_code == 422


def test_dead_groups(http: httpx.Client) -> None:
    http.post("/enqueue", json={"jobs": [{"payload": i, "max_tries": 1} for i in range(3)]})
    for i, job in enumerate(
        http.post("/poll", json={"worker_id": "w", "max_jobs": 3}).json()["jobs"]
    ):
        error = "timeout" if i else "refused"
        http.post("/fail", json={"job_id": job["id"], "lease_token": job["lease_token"],
                                 "error": error})  # fmt: skip
    groups = http.get("/dead/groups", params={"queue": "default"}).json()["groups"]
    assert [(g["error"], g["count"], len(g["job_ids"])) for g in groups] == [
        ("timeout", 2, 2), ("refused", 1, 1),
    ]  # fmt: skip
    r = http.post("/dead/requeue", json={"job_ids": groups[0]["job_ids"]})
    assert r.json() == {"requeued": 2}
    assert http.get("/dead/groups").status_code == 422  # queue is required


def test_metrics_count_transitions_and_mirror_the_store(http: httpx.Client) -> None:
    http.post("/enqueue", json={"jobs": [{"payload": i, "queue": "m", "max_tries": 1}
                                         for i in range(3)]})  # fmt: skip
    a, b = http.post("/poll", json={"worker_id": "w", "queues": ["m"], "max_jobs": 2}).json()[
        "jobs"
    ]
    http.post("/ack", json={"job_id": a["id"], "lease_token": a["lease_token"]})
    http.post("/fail", json={"job_id": b["id"], "lease_token": b["lease_token"]})
    text = http.get("/metrics").text
    samples = _samples(text)
    assert samples['leaseq_jobs_enqueued_total{queue="m"}'] == 3
    assert samples['leaseq_jobs_leased_total{queue="m"}'] == 2
    assert samples['leaseq_jobs_acked_total{queue="m"}'] == 1
    assert samples['leaseq_jobs_dead_total{queue="m"}'] == 1
    assert samples['leaseq_jobs{queue="m",state="QUEUED"}'] == 1
    assert samples['leaseq_jobs{queue="m",state="DONE"}'] == 1
    assert samples['leaseq_active_leases{queue="m"}'] == 0
    assert samples['leaseq_job_wait_seconds_count{queue="m"}'] == 2
    assert samples['leaseq_job_run_seconds_count{queue="m"}'] == 2
    assert samples["leaseq_known_workers"] == 1
    assert samples['leaseq_http_request_duration_seconds_count{method="POST",route="/ack"}'] == 1


def _samples(text: str) -> dict[str, float]:
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            out[name] = float(value)
    return out
