"""Acceptance: crash safety and exclusive leasing with real processes over real HTTP."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Callable

import httpx

from tests.conftest import FAST
from tests.support.server import ServerProcess

MAX_SECONDS = 20


def _loop(stop: threading.Event, body: Callable[[httpx.Client], bool], url: str) -> None:
    """Runs ``body`` until it returns False, the stop flag, or the time bound."""
    deadline = time.monotonic() + MAX_SECONDS
    with httpx.Client(base_url=url, timeout=5) as http:
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                if not body(http):
                    return
            except httpx.TransportError:
                return  # the server was killed: what was answered is what counts


def test_kill_9_mid_load_loses_no_answered_write(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(*FAST)
    accepted: list[str] = []
    acked: list[str] = []
    stop = threading.Event()

    def produce(http: httpx.Client) -> bool:
        r = http.post("/enqueue", json={"payload": {"t": time.time()}})
        if r.status_code == 201:
            accepted.append(r.json()["job"]["id"])
        return len(accepted) < 20_000

    def consume(http: httpx.Client) -> bool:
        jobs = http.post("/poll", json={"worker_id": "c", "max_jobs": 10}).json()["jobs"]
        acks = [{"job_id": j["id"], "lease_token": j["lease_token"]} for j in jobs]
        if acks:
            results = http.post("/ack", json={"acks": acks}).json()["results"]
            acked.extend(x["job_id"] for x in results if x["status"] == 200)
        return True

    threads = [threading.Thread(target=_loop, args=(stop, fn, server.url))
               for fn in [produce] * 4 + [consume] * 2]  # fmt: skip
    for t in threads:
        t.start()
    time.sleep(1.5)
    server.kill()
    for t in threads:
        t.join(MAX_SECONDS + 5)
    assert len(accepted) > 100 and acked, "the load did not get going"

    server.start()  # same file, same port
    with httpx.Client(base_url=server.url, timeout=10) as http:
        states = Counter()
        for job_id in accepted:
            r = http.get(f"/jobs/{job_id}")
            assert r.status_code == 200, f"accepted job {job_id} was lost"
            states[r.json()["job"]["state"]] += 1
        for job_id in acked:
            assert http.get(f"/jobs/{job_id}").json()["job"]["state"] == "DONE"
    print(f"kill -9 after {len(accepted)} answered enqueues and {len(acked)} answered acks:"
          f" all present after restart, states {dict(states)}")  # fmt: skip


def test_eight_concurrent_workers_lease_each_job_exactly_once(server: ServerProcess) -> None:
    total = 2000
    with httpx.Client(base_url=server.url, timeout=10) as http:
        for start in range(0, total, 500):
            jobs = [{"payload": i} for i in range(start, start + 500)]
            assert http.post("/enqueue", json={"jobs": jobs}).status_code == 201
    leased: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def work(http: httpx.Client) -> bool:
        jobs = http.post("/poll", json={"worker_id": "w", "max_jobs": 5, "wait": 0.2}).json()[
            "jobs"
        ]
        if not jobs:
            return False
        with lock:
            leased.extend(j["id"] for j in jobs)
        for j in jobs:
            r = http.post("/ack", json={"job_id": j["id"], "lease_token": j["lease_token"]})
            assert r.status_code == 200
        return True

    workers = [threading.Thread(target=_loop, args=(stop, work, server.url)) for _ in range(8)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(MAX_SECONDS + 5)
    counts = Counter(leased)
    assert len(counts) == total and max(counts.values()) == 1
    with httpx.Client(base_url=server.url) as http:
        assert http.get("/stats").json()["queues"]["default"]["DONE"] == total


def test_stale_worker_is_fenced_after_its_lease_is_reclaimed(http: httpx.Client) -> None:
    http.post("/enqueue", json={"payload": "x"})
    (a,) = http.post("/poll", json={"worker_id": "A", "lease_seconds": 1}).json()["jobs"]
    # A stalls; the reaper reclaims the job after ~1 s and B takes it.
    (b,) = http.post("/poll", json={"worker_id": "B", "wait": 5}).json()["jobs"]
    assert b["id"] == a["id"] and b["lease_owner"] == "B"
    stale = {"job_id": a["id"], "lease_token": a["lease_token"]}
    for path in ("/ack", "/fail", "/heartbeat", "/release"):
        r = http.post(path, json=stale)
        assert r.status_code == 409 and r.json()["error"]["code"] == "lease_lost", path
    job = http.get(f"/jobs/{a['id']}").json()["job"]
    assert (job["state"], job["lease_owner"]) == ("LEASED", "B")
    done = http.post("/ack", json={"job_id": b["id"], "lease_token": b["lease_token"]})
    assert done.json()["job"]["state"] == "DONE"


def test_retention_purges_finished_jobs_only(server_factory) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(*FAST, "--retention", "0.5")
    with httpx.Client(base_url=server.url) as http:
        http.post("/enqueue", json={"jobs": [{"payload": 1}, {"payload": 2}]})
        (job,) = http.post("/poll", json={"worker_id": "w"}).json()["jobs"]
        http.post("/ack", json={"job_id": job["id"], "lease_token": job["lease_token"]})
        deadline = time.monotonic() + 5
        while http.get(f"/jobs/{job['id']}").status_code == 200 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert http.get(f"/jobs/{job['id']}").status_code == 404
        assert http.get("/stats").json()["queues"]["default"]["QUEUED"] == 1
