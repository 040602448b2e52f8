"""leaseq unbatched: one HTTP request per enqueue, per poll and per ack, the way curl or a
client in another language without an SDK uses it: keep-alive HTTP/1.1 from the standard
library's ``http.client`` (a third of httpx's CPU per request: on two cores shared with
the server, an httpx producer was the bottleneck, see ``wrk_enqueue``), several processes.

Run as a module it is the raw worker: ``python -m benchmarks.peers.leaseq_raw URL``.
"""

from __future__ import annotations

import http.client
import json
import math
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from benchmarks.peers import Producer, Settings
from benchmarks.peers.leaseq_peer import LeaseqPeer, pg_nodes
from benchmarks.procs import Child, bench_env
from benchmarks.starts import record

QUEUE = "bench"
THREADS = 8  # per worker process: 2 x 8 = 16 requests in flight, as many as the producers
BATCH = 100  # jobs per poll of the batched raw worker (the server's limit)
BATCHED_THREADS = 2  # per process: 2 x 2 polls of 100 in flight
MAX_RUN_S = 3600.0  # a raw worker never outlives this, whatever happens to its parent
WRK_SECONDS = 3
WRK_SCRIPT = """wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"queue": "wrk", "task": "noop", "payload": {"args": [0], "kwargs": {}}}'
"""


def job_body(i: int) -> dict[str, object]:
    return {"queue": QUEUE, "task": "noop", "payload": {"args": [i], "kwargs": {}}}


class RawHttp:
    """One keep-alive connection: POST a JSON body, get the status and the decoded answer."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)

    def post(self, path: str, body: object) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json"}
        self.conn.request("POST", path, json.dumps(body), headers)
        response = self.conn.getresponse()
        return response.status, json.loads(response.read())

    def close(self) -> None:
        self.conn.close()


class RawProducer(Producer):
    def __init__(self, url: str) -> None:
        self.http = RawHttp(url)

    def enqueue_one(self, i: int) -> None:
        status, answer = self.http.post("/enqueue", job_body(i))
        if status != 201:
            raise RuntimeError(f"enqueue: {status} {str(answer)[:200]}")

    def enqueue_bulk(self, indexes: Sequence[int]) -> None:
        for start in range(0, len(indexes), 1000):
            jobs = [job_body(i) for i in indexes[start : start + 1000]]
            status, answer = self.http.post("/enqueue", {"jobs": jobs})
            if status != 201:
                raise RuntimeError(f"bulk enqueue: {status} {str(answer)[:200]}")

    def close(self) -> None:
        self.http.close()


def work(url: str, worker_id: str, stop: threading.Event) -> None:
    """Poll one job (long poll), run it, ack it; until ``stop`` or ``MAX_RUN_S``."""
    deadline = time.monotonic() + MAX_RUN_S
    poll = {"worker_id": worker_id, "queues": [QUEUE], "max_jobs": 1, "wait": 1}
    http = RawHttp(url)
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            for job in http.post("/poll", poll)[1]["jobs"]:
                record(job["payload"]["args"][0])
                ack = {"job_id": job["id"], "lease_token": job["lease_token"]}
                if http.post("/ack", ack)[0] != 200:
                    raise RuntimeError(f"ack of {job['id']} refused")
    finally:
        http.close()


def work_fused(url: str, worker_id: str, stop: threading.Event, max_jobs: int = 1) -> None:
    """The fused ack-and-poll: each poll carries the acks of the jobs the last one leased,
    so one request per job (``max_jobs=1``), or per ``max_jobs`` jobs."""
    deadline = time.monotonic() + MAX_RUN_S
    poll: dict[str, Any] = {"worker_id": worker_id, "queues": [QUEUE], "max_jobs": max_jobs,
                            "wait": 1}  # fmt: skip
    http, acks = RawHttp(url), list[dict[str, str]]()
    try:
        while time.monotonic() < deadline:
            status, answer = http.post("/poll", {**poll, "acks": acks} if acks else poll)
            if status != 200 or any(a["status"] != 200 for a in answer.get("acks", [])):
                raise RuntimeError(f"fused poll: {status} {str(answer)[:300]}")
            if stop.is_set():  # the acks are in; the jobs just leased run out their lease
                return
            acks = []
            for job in answer["jobs"]:
                record(job["payload"]["args"][0])
                acks.append({"job_id": job["id"], "lease_token": job["lease_token"]})
    finally:
        http.close()


def main(url: str, mode: str = "unbatched") -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    target, count, args = {
        "unbatched": (work, THREADS, ()),
        "fused": (work_fused, THREADS, ()),
        "batched": (work_fused, BATCHED_THREADS, (BATCH,)),
    }[mode]
    threads = [
        threading.Thread(target=target, args=(url, f"raw-{os.getpid()}-{t}", stop, *args))
        for t in range(count)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def wrk_enqueue(url: str, work_dir: Path, seconds: int, connections: int = 16) -> float:
    """Requests/s of ``wrk`` POSTing single enqueues: the server's rate with a client that
    is never the bottleneck (it is C), to compare the Python producers against."""
    wrk = shutil.which("wrk")
    if wrk is None:
        return float("nan")
    script = work_dir / "enqueue.lua"
    script.write_text(WRK_SCRIPT)
    out = subprocess.run(
        [
            wrk,
            f"-t{min(2, connections)}",
            f"-c{connections}",
            f"-d{seconds}s",
            "-s",
            str(script),
            f"{url}/enqueue",
        ],
        capture_output=True,
        text=True,
        timeout=seconds + 30,
        check=True,
    )
    for line in out.stdout.splitlines():
        if line.startswith("Requests/sec:"):
            return float(line.split()[1])
    raise RuntimeError(f"no rate in wrk's output:\n{out.stdout}")


class RawPeer(LeaseqPeer):
    name = "leaseq-unbatched"
    has_bulk = False
    mode = "unbatched"  # of ``main``
    worker_config = (
        f"2 processes x {THREADS} threads, each a keep-alive `http.client` connection: poll "
        "1 job (wait 1 s), ack it; producers POST one job each"
    )

    @staticmethod
    def make_producer(settings: Settings) -> Producer:
        urls = settings.extra["leaseq_urls"]
        return RawProducer(urls[os.getpid() % len(urls)])

    def start_workers(self, starts_dir: Path) -> None:
        urls = [s.url for s in self.servers]
        self.workers = [
            Child(
                [sys.executable, "-m", __name__, urls[n % len(urls)], self.mode],
                self.settings.work / f"raw-worker-{n}.log",
                bench_env(starts_dir),
            )
            for n in range(self.settings.worker_procs)
        ]

    def extras(self) -> dict[str, float]:
        seconds = self.settings.extra.get("wrk_seconds", WRK_SECONDS)
        rate = wrk_enqueue(self.servers[0].url, self.settings.work, seconds)
        # Without wrk on the machine there is nothing to compare with: no result at all.
        return {} if math.isnan(rate) else {"wrk_enqueue_one_req_per_s": rate}


class FusedPeer(RawPeer):
    name = "leaseq-fused"
    mode = "fused"
    worker_config = (
        f"2 processes x {THREADS} threads, each a keep-alive `http.client` connection: one "
        "`POST /poll` per job (wait 1 s) that also acks the job before (`acks`); producers "
        "POST one job each"
    )

    def extras(self) -> dict[str, float]:
        return {}


class RawBatchedPeer(FusedPeer):
    name = "leaseq-raw-batched"
    mode = "batched"
    has_bulk = True
    worker_config = (
        f"2 processes x {BATCHED_THREADS} threads, each a keep-alive `http.client` "
        f"connection: polls of {BATCH} jobs (wait 1 s), each carrying the acks of the last "
        "poll's jobs; producers POST one job each, then batches of 1,000"
    )


class RawPgPeer(RawPeer):
    name = "leaseq-pg-unbatched"
    durable = "yes: committed before the 2xx (PostgreSQL)"
    worker_config = RawPeer.worker_config + "; 2 `leaseq serve` nodes on one database"

    def nodes(self) -> list[str]:
        return pg_nodes(self.settings)


if __name__ == "__main__":
    main(*sys.argv[1:3])
