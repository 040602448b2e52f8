"""Fencing after a timeout or a cancel: worker A leases jobs and is SIGSTOPped; either
each job's attempt passes its timeout (the reaper fails it and B takes the retry) or an
operator cancels them. A comes back and sends, with its old token, a heartbeat carrying
progress and a checkpoint, a fail carrying a checkpoint, and an ack; once B is done, an
ack again. None may be accepted, a cancelled job must say ``job_cancelled``, and no job
may show the stale progress or checkpoint."""

from __future__ import annotations

import random
import signal
import time
from collections import Counter
from typing import Any

import httpx

from tests.chaos.app import QUEUE
from tests.chaos.scenarios import StaleWorker
from tests.support.server import ServerProcess

TIMEOUT_S = 3
"""Long enough that B, collecting the retries of a batch, acks each before its own
attempt times out in turn."""


def _stale_ops(job: dict[str, Any]) -> list[list[Any]]:
    lease = {"job_id": job["id"], "lease_token": job["lease_token"]}
    return [
        ["/heartbeat", {**lease, "progress": {"stale": True}, "checkpoint": {"stale": True}}],
        ["/fail", {**lease, "error": "stale", "checkpoint": {"stale": True}}],
        ["/ack", {**lease, "result": "stale"}],
    ]


def _retries_taken(http: httpx.Client, ids: set[str], timeout_s: float) -> list[dict[str, Any]]:
    """B polls until it holds the retry of every job of ``ids``."""
    got: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout_s
    while len(got) < len(ids) and time.monotonic() < deadline:
        body = {"worker_id": "B", "queues": [QUEUE], "max_jobs": 100, "wait": 2}
        got += http.post("/poll", json=body).raise_for_status().json()["jobs"]
    assert {j["id"] for j in got} == ids, "B did not get the retry of every timed-out job"
    return got


def _round(
    http: httpx.Client, a: StaleWorker, keys: list[str], mode: str, tally: Counter[str]
) -> None:
    timeout = {"timeout": TIMEOUT_S} if mode == "timeout" else {}
    specs = [{"payload": k, "queue": QUEUE, "idempotency_key": k, "max_tries": 1000, **timeout}
             for k in keys]  # fmt: skip
    http.post("/enqueue", json={"jobs": specs}).raise_for_status()
    held = a.ask({"do": "poll", "n": len(keys), "lease_seconds": 60})
    assert len(held) == len(keys), f"A leased {len(held)} of {len(keys)} jobs"
    ids = {j["id"] for j in held}
    a.proc.send_signal(signal.SIGSTOP)
    taken: list[dict[str, Any]] = []
    if mode == "cancel":
        results = http.post("/jobs/cancel", json={"job_ids": sorted(ids)}).json()["results"]
        assert all(r["status"] == 200 for r in results), results
    else:
        taken = _retries_taken(http, ids, 30)
    a.proc.send_signal(signal.SIGCONT)
    answers = a.ask({"do": "send", "ops": [op for j in held for op in _stale_ops(j)]})
    want = "job_cancelled" if mode == "cancel" else "lease_lost"
    tally["stale_ops"] += len(answers)
    tally["stale_accepted"] += sum(1 for status, _ in answers if status < 300)
    tally["stale_wrong_code"] += sum(1 for s, code in answers if (s, code) != (409, want))
    acks = [{"job_id": j["id"], "lease_token": j["lease_token"]} for j in taken]
    if acks:
        http.post("/ack", json={"acks": acks}).raise_for_status()
    late = a.ask({"do": "send", "ops": [op for j in held for op in _stale_ops(j)[2:]]})
    tally["stale_ops"] += len(late)
    tally["stale_accepted"] += sum(1 for status, _ in late if status < 300)
    for job_id in ids:
        job = http.get(f"/jobs/{job_id}").raise_for_status().json()["job"]
        wrote = job["progress"] is not None or job["checkpoint"] is not None
        final = job["state"] == ("CANCELLED" if mode == "cancel" else "DONE")
        tally["stale_written"] += int(wrote)
        tally["wrong_state"] += int(not final)
    tally[f"{mode}_rounds"] += len(keys)


def steer_rounds(
    name: str, server: ServerProcess, rounds: int, per_batch: int, seed: int
) -> Counter[str]:
    """``rounds`` jobs in batches of ``per_batch``, each batch timed out or cancelled
    (chosen by ``seed``); the counts of what A's stale operations got."""
    rng = random.Random(seed)
    tally: Counter[str] = Counter()
    a = StaleWorker(server.url)
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for batch in range(0, rounds, per_batch):
                n = min(per_batch, rounds - batch)
                keys = [f"{name}-{seed}-{batch + i}" for i in range(n)]
                _round(http, a, keys, rng.choice(["timeout", "cancel"]), tally)
    finally:
        a.close()
    return tally
