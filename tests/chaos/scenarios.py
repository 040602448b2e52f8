"""The chaos runs themselves, sized by their callers: the fast tier in the normal test run,
the long tier behind the ``chaos`` marker and in ``benchmarks/chaos.py``.

Every loop is bounded in count and in time, so a slow machine fails a run instead of
hanging it. Only loopback addresses are ever targets.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.chaos.app import QUEUE
from tests.chaos.harness import (
    ROOT,
    Figures,
    History,
    Op,
    Outcome,
    Worker,
    check,
    done_count,
    done_ops,
    executions,
    history,
    integrity_check,
    list_jobs,
    wait_until,
)
from tests.support.server import ServerProcess

FAST_SERVER = ["--retry-base", "0.2", "--retry-cap", "2", "--reap-interval", "0.2"]
BATCH = 100


@dataclass(frozen=True)
class Size:
    jobs: int
    workers: int = 4
    kill_every_s: float = 2.0
    kills: int = 3
    drain_timeout_s: float = 60.0
    job_s: float = 0.0
    """How long each job's body sleeps, so the drain outlasts the first kills."""


def _enqueue_batch(
    http: httpx.Client, keys: list[str], out_dir: Path | None, job_s: float = 0.0,
) -> list[Op]:  # fmt: skip
    """One batch with idempotency keys; one op per job, its outcome the batch's."""
    specs: list[dict[str, Any]] = []
    for key in keys:
        payload: Any = {"args": [key, str(out_dir), job_s]} if out_dir is not None else key
        specs.append({"payload": payload, "queue": QUEUE, "task": "run" if out_dir else None,
                      "idempotency_key": key, "max_tries": 1000})  # fmt: skip
    start = time.time()
    try:
        r = http.post("/enqueue", json={"jobs": specs})
    except httpx.TransportError:
        return [Op("enqueue", start, time.time(), "unknown", key=k) for k in keys]
    end = time.time()
    if r.status_code in (200, 201):
        jobs = r.json()["jobs"]
        return [Op("enqueue", start, end, "ok", job=j["id"], key=k, status=r.status_code)
                for k, j in zip(keys, jobs, strict=True)]  # fmt: skip
    outcome: Outcome = "unknown" if r.status_code >= 500 else "failed"
    return [Op("enqueue", start, end, outcome, key=k, status=r.status_code) for k in keys]


def produce(
    url: str, keys: list[str], h: History, out_dir: Path | None, deadline: float,
    pace_s: float = 0.0, job_s: float = 0.0,
) -> None:  # fmt: skip
    """Enqueues ``keys`` in batches, retrying a batch with the same keys until it is
    answered 2xx (the idempotency keys make the retry safe) or the deadline passes;
    ``pace_s`` between batches spreads the load over the time the faults take."""
    with httpx.Client(base_url=url, timeout=30) as http:
        for i in range(0, len(keys), BATCH):
            time.sleep(pace_s)
            while time.monotonic() < deadline:
                ops = _enqueue_batch(http, keys[i : i + BATCH], out_dir, job_s)
                h.add(*ops)
                if ops[0].outcome == "ok":
                    break
                time.sleep(0.1)


def _drain(url: str, expected: int, timeout_s: float) -> None:
    if not wait_until(lambda: done_count(url, QUEUE) >= expected, timeout_s, every=0.5):
        raise AssertionError(f"drain: {done_count(url, QUEUE)} of {expected} DONE")


# -- 1. worker kill -9 ------------------------------------------------------------------


def worker_kills(
    name: str, servers: list[ServerProcess], tmp: Path, size: Size, seed: int,
    lease_s: float = 5.0,
) -> Figures:  # fmt: skip
    """SDK workers run jobs that record their executions; one worker, chosen by the
    seeded RNG, is killed with SIGKILL every ``kill_every_s`` and a new one started.
    Workers are spread over ``servers`` (several nodes on one PostgreSQL database)."""
    server = servers[0]
    rng = random.Random(seed)
    out_dir = tmp / "executions"
    out_dir.mkdir()
    keys = [f"{name}-{seed}-{i}" for i in range(size.jobs)]
    workers: list[Worker] = []
    with history(tmp / "history.jsonl") as h:
        produce(server.url, keys, h, out_dir, time.monotonic() + 120, job_s=size.job_s)
        try:

            def spawn(i: int) -> Worker:
                url = servers[i % len(servers)].url
                return Worker(url, tmp / f"worker{i}.log", lease_s)

            workers = [spawn(i) for i in range(size.workers)]
            n = size.workers
            for _ in range(size.kills):
                time.sleep(size.kill_every_s)
                if done_count(server.url, QUEUE) >= size.jobs:
                    break
                i = rng.randrange(len(workers))
                h.fault("kill", "worker", workers[i].proc.pid)
                workers[i].kill()
                workers[i] = spawn(n)
                n += 1
            _drain(server.url, size.jobs, size.drain_timeout_s)
        finally:
            for w in workers:
                w.kill()
        runs = executions(out_dir)
        h.add(*runs)
    jobs = list_jobs(server.url, QUEUE)
    ids = {j["idempotency_key"]: j["id"] for j in jobs}
    counts = Counter(o.key for o in runs)
    rerun = {ids[k] for k, n in counts.items() if n > 1 and k in ids}
    figures = check(name, seed, [*h.ops, *done_ops(server.url, rerun)], jobs)
    figures.extra["executions"] = len(runs)
    return figures


# -- 2. server kill -9 -------------------------------------------------------------------


@dataclass
class Load:
    """What the clients saw besides the history: 5xx answers and integrity checks."""

    server_errors: list[int]
    integrity: list[str]


def _consume(url: str, h: History, load: Load, stop: threading.Event, deadline: float) -> None:
    """Polls and acks at once; a delivery is recorded as an execution of the job."""
    with httpx.Client(base_url=url, timeout=30) as http:
        while not stop.is_set() and time.monotonic() < deadline:
            start = time.time()
            try:
                r = http.post("/poll", json={"worker_id": f"c{threading.get_ident()}",
                                             "queues": [QUEUE], "max_jobs": 20, "wait": 0.5,
                                             "lease_seconds": 10})  # fmt: skip
                if r.status_code >= 500:
                    load.server_errors.append(r.status_code)
                if r.status_code != 200:
                    time.sleep(0.1)
                    continue
                jobs = r.json()["jobs"]
                end = time.time()
                h.add(*(Op("deliver", start, end, "ok", job=j["id"], key=j["idempotency_key"],
                           token=j["lease_token"]) for j in jobs))  # fmt: skip
                if jobs:
                    _ack(http, jobs, h, load)
            except httpx.TransportError:
                time.sleep(0.1)  # the server is down: try again once it is back


def _ack(http: httpx.Client, jobs: list[dict[str, Any]], h: History, load: Load) -> None:
    acks = [{"job_id": j["id"], "lease_token": j["lease_token"]} for j in jobs]
    start = time.time()
    try:
        r = http.post("/ack", json={"acks": acks})
    except httpx.TransportError:
        h.add(*(Op("ack", start, time.time(), "unknown", job=a["job_id"],
                   token=a["lease_token"]) for a in acks))  # fmt: skip
        raise
    end = time.time()
    if r.status_code >= 500:
        load.server_errors.append(r.status_code)
        results = [{"job_id": a["job_id"], "status": r.status_code} for a in acks]
    else:
        results = r.json()["results"]
    for a, res in zip(acks, results, strict=True):
        status = res["status"]
        outcome: Outcome = "ok" if status == 200 else "failed" if status < 500 else "unknown"
        h.add(Op("ack", start, end, outcome, job=a["job_id"], token=a["lease_token"],
                 status=res["status"]))  # fmt: skip


def server_kills(
    name: str, servers: list[ServerProcess], db: Path | None, tmp: Path, size: Size, seed: int,
    producers: int = 4, consumers: int = 2,
) -> Figures:  # fmt: skip
    """Producers (retrying with idempotency keys) and consumers, spread over ``servers``,
    run while the first server is killed with SIGKILL ``size.kills`` times at seeded
    random moments; while it is down a SQLite ``db`` gets ``PRAGMA integrity_check``,
    then the server restarts on it. With PostgreSQL the other nodes keep serving."""
    server = servers[0]
    rng = random.Random(seed)
    keys = [f"{name}-{seed}-{i}" for i in range(size.jobs)]
    load = Load([], [])
    stop = threading.Event()
    deadline = time.monotonic() + size.drain_timeout_s + size.kills * size.kill_every_s * 2
    with history(tmp / "history.jsonl") as h:
        slices = [keys[i::producers] for i in range(producers)]
        pace = size.kills * size.kill_every_s / max(1, len(slices[0]) // BATCH)
        urls = [servers[i % len(servers)].url for i in range(max(producers, consumers))]
        threads = [threading.Thread(target=produce, args=(urls[i], s, h, None, deadline, pace))
                   for i, s in enumerate(slices)]  # fmt: skip
        threads += [threading.Thread(target=_consume, args=(urls[-1 - i], h, load, stop, deadline))
                    for i in range(consumers)]  # fmt: skip
        for t in threads:
            t.start()
        try:
            for _ in range(size.kills):
                time.sleep(rng.uniform(0.5, 1.5) * size.kill_every_s)
                h.fault("kill", "server", server.proc.pid if server.proc else None)
                server.kill()
                if db is not None:
                    load.integrity.append(integrity_check(db))
                server.start()
            for t in threads[:producers]:
                t.join(max(1.0, deadline - time.monotonic()))
            accepted = len({o.key for o in h.ops if o.op == "enqueue" and o.outcome == "ok"})
            _drain(server.url, accepted, size.drain_timeout_s)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
    figures = check(name, seed, h.ops, list_jobs(server.url, QUEUE))
    figures.extra["enqueue_unknown"] = sum(
        1 for o in h.ops if o.op == "enqueue" and o.outcome == "unknown"
    )
    figures.extra["server_5xx"] = len(load.server_errors)
    figures.extra["integrity_ok"] = f"{load.integrity.count('ok')}/{len(load.integrity)}"
    assert all(r == "ok" for r in load.integrity), load.integrity
    assert not load.server_errors, f"5xx answers: {load.server_errors}"
    return figures


# -- 3. stale worker (fencing) -----------------------------------------------------------

STALE_PATHS = ("/ack", "/fail", "/heartbeat", "/release")


class StaleWorker:
    """Drives ``tests.chaos.stale_worker`` over its stdin and stdout."""

    def __init__(self, url: str) -> None:
        args = [sys.executable, "-m", "tests.chaos.stale_worker", url, QUEUE]
        self.proc = subprocess.Popen(args, cwd=ROOT, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True)  # fmt: skip

    def ask(self, command: dict[str, Any]) -> Any:
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write(json.dumps(command) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


def _b_takes(http: httpx.Client, ids: set[str], h: History, timeout_s: float) -> list[Any]:
    """Worker B polls until it holds every job of ``ids`` (their leases must run out)."""
    got: list[Any] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < len(ids) and time.monotonic() < deadline:
        start = time.time()
        body = {"worker_id": "B", "queues": [QUEUE], "max_jobs": 100, "wait": 2}
        jobs = http.post("/poll", json=body).raise_for_status().json()["jobs"]
        h.add(*(Op("deliver", start, time.time(), "ok", job=j["id"], key=j["idempotency_key"],
                   token=j["lease_token"]) for j in jobs))  # fmt: skip
        got += jobs
    assert {j["id"] for j in got} == ids, "B did not get every job A had leased"
    return got


def stale_rounds(
    name: str, server: ServerProcess, tmp: Path, rounds: int, per_batch: int, seed: int
) -> Figures:
    """Each round: A leases a job for 1 s and is SIGSTOPped; the lease runs out and B
    takes the job; A is SIGCONTed and sends ack, fail, heartbeat or release with its old
    token (rotating), then once more an ack after B completed the job. Every one of
    those stale operations must be refused (409)."""
    rng = random.Random(seed)
    a = StaleWorker(server.url)
    stale_statuses: list[int] = []
    try:
        with history(tmp / "history.jsonl") as h, httpx.Client(base_url=server.url) as http:
            for batch in range(0, rounds, per_batch):
                n = min(per_batch, rounds - batch)
                produce(server.url, [f"{name}-{seed}-{batch + i}" for i in range(n)], h, None,
                        time.monotonic() + 60)  # fmt: skip
                start = time.time()
                held = a.ask({"do": "poll", "n": n})
                h.add(*(Op("deliver", start, time.time(), "ok", job=j["id"],
                           key=j["idempotency_key"], token=j["lease_token"], pid=a.proc.pid)
                        for j in held))  # fmt: skip
                assert len(held) == n, f"A leased {len(held)} of {n} jobs"
                h.fault("stop", "worker", a.proc.pid)
                a.proc.send_signal(signal.SIGSTOP)
                taken = _b_takes(http, {j["id"] for j in held}, h, 30)
                a.proc.send_signal(signal.SIGCONT)
                ops = [[rng.choice(STALE_PATHS), j["id"], j["lease_token"]] for j in held]
                stale_statuses += a.ask({"do": "stale", "ops": ops})
                _ack(http, taken, h, Load([], []))
                late = [["/ack", j["id"], j["lease_token"]] for j in held]
                stale_statuses += a.ask({"do": "stale", "ops": late})
            jobs = list_jobs(server.url, QUEUE)
    finally:
        a.close()
    figures = check(name, seed, h.ops, jobs)
    figures.extra["stale_ops"] = len(stale_statuses)
    figures.extra["stale_accepted"] = sum(1 for s in stale_statuses if s < 300)
    figures.extra["stale_not_409"] = sum(1 for s in stale_statuses if s != 409)
    return figures


# -- 4. claim race -----------------------------------------------------------------------


def claim_race(
    name: str, server: ServerProcess, tmp: Path, jobs: int, pollers: int, seed: int
) -> Figures:
    """``pollers`` threads poll and ack as fast as they can until the queue is empty;
    with no fault injected, each job must be leased exactly once."""
    keys = [f"{name}-{seed}-{i}" for i in range(jobs)]
    load = Load([], [])
    stop = threading.Event()
    with history(tmp / "history.jsonl") as h:
        produce(server.url, keys, h, None, time.monotonic() + 120)
        threads = [threading.Thread(target=_consume, args=(server.url, h, load, stop,
                                                          time.monotonic() + 100))
                   for _ in range(pollers)]  # fmt: skip
        for t in threads:
            t.start()
        try:
            _drain(server.url, jobs, 100)
        finally:
            stop.set()
            for t in threads:
                t.join(60)
    figures = check(name, seed, h.ops, list_jobs(server.url, QUEUE))
    leases = Counter(o.job for o in h.ops if o.op == "deliver")
    figures.extra["leased_jobs"] = len(leases)
    figures.extra["leased_more_than_once"] = sum(1 for n in leases.values() if n > 1)
    figures.extra["server_5xx"] = len(load.server_errors)
    return figures
