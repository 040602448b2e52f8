"""Server CPU and context switches per request, one endpoint at a time.

    python -m benchmarks.per_request [--requests 2000] [--url URL --pid PID]

Rates on a shared 2-core machine swing by a third; what a request costs the server moves
much less. This starts ``leaseq serve`` (SQLite, durable default) unless given a running
one, and from one keep-alive ``http.client`` connection sends ``--requests`` sequential
requests of each kind: ``POST /enqueue`` (one job), ``POST /poll`` (one job, no wait),
``POST /ack`` (one job), the fused ``POST /poll`` that acks the job it holds and leases the
next, and ``GET /health``. Around each series it reads, for every thread of the server,
user and system CPU from ``/proc/<pid>/task/*/stat`` and voluntary and involuntary context
switches from ``.../status``, and prints per request: CPU µs (user, sys) and switches, and
the client's wall time per request (back to back). One JSON line per endpoint.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

TICK = os.sysconf("SC_CLK_TCK")
QUEUE = "perreq"


@dataclass(frozen=True)
class Sample:
    user_s: float
    sys_s: float
    voluntary: int
    involuntary: int

    def __sub__(self, other: Sample) -> Sample:
        return Sample(
            self.user_s - other.user_s,
            self.sys_s - other.sys_s,
            self.voluntary - other.voluntary,
            self.involuntary - other.involuntary,
        )


def sample(pid: int) -> Sample:
    """The process's CPU (all threads, ``/proc/<pid>/stat``) and the switches of every
    thread it has now (``/proc/<pid>/status`` counts only the main thread's)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    user, system = int(fields[11]) / TICK, int(fields[12]) / TICK
    voluntary = involuntary = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/status") as f:
                for line in f:
                    if line.startswith("voluntary_ctxt_switches"):
                        voluntary += int(line.split()[1])
                    elif line.startswith("nonvoluntary_ctxt_switches"):
                        involuntary += int(line.split()[1])
        except FileNotFoundError:  # a thread that ended meanwhile
            continue
    return Sample(user, system, voluntary, involuntary)


class Http:
    """One keep-alive connection; raises on an unexpected status."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=30)
        self.headers = {"Content-Type": "application/json"}

    def call(self, method: str, path: str, body: object = None) -> Any:
        data = None if body is None else json.dumps(body)
        self.conn.request(method, path, data, self.headers)
        response = self.conn.getresponse()
        raw = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{method} {path}: {response.status} {raw[:300]!r}")
        return json.loads(raw)


def series(pid: int, n: int, step: Callable[[int], None]) -> dict[str, float]:
    before, start = sample(pid), time.perf_counter()
    for i in range(n):
        step(i)
    wall = time.perf_counter() - start
    d = sample(pid) - before
    return {
        "requests": n,
        "server_user_us": round(d.user_s * 1e6 / n, 1),
        "server_sys_us": round(d.sys_s * 1e6 / n, 1),
        "server_cpu_us": round((d.user_s + d.sys_s) * 1e6 / n, 1),
        "voluntary_switches": round(d.voluntary / n, 2),
        "involuntary_switches": round(d.involuntary / n, 2),
        "client_wall_us": round(wall * 1e6 / n, 1),
    }


def measure(url: str, pid: int, n: int) -> dict[str, dict[str, float]]:
    """Every endpoint's series, in an order that leaves each one work to do."""
    h = Http(url)
    job = {"queue": QUEUE, "task": "noop", "payload": {"args": [0], "kwargs": {}}}
    poll = {"worker_id": "perreq", "queues": [QUEUE], "max_jobs": 1}
    leased: list[dict[str, Any]] = []
    held: list[dict[str, Any]] = []
    out = {"enqueue": series(pid, n, lambda _: h.call("POST", "/enqueue", job))}
    out["poll"] = series(pid, n, lambda _: leased.extend(h.call("POST", "/poll", poll)["jobs"]))
    acks = [{"job_id": j["id"], "lease_token": j["lease_token"]} for j in leased]
    out["ack"] = series(pid, len(acks), lambda i: h.call("POST", "/ack", acks[i]))
    for _ in range(n + 1):
        h.call("POST", "/enqueue", job)
    held.extend(h.call("POST", "/poll", poll)["jobs"])

    def fused(_: int) -> None:
        done = [{"job_id": j["id"], "lease_token": j["lease_token"]} for j in held]
        answer = h.call("POST", "/poll", {**poll, "acks": done})
        if any(a["status"] != 200 for a in answer.get("acks", [])):
            raise RuntimeError(f"fused ack refused: {answer['acks']}")
        held[:] = answer["jobs"]

    try:
        out["poll_with_ack"] = series(pid, n, fused)
    except RuntimeError as exc:  # a server without the fused poll
        out["poll_with_ack"] = {"error": str(exc)[:200]}  # type: ignore[dict-item]
    out["health"] = series(pid, n, lambda _: h.call("GET", "/health"))
    return out


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m benchmarks.per_request")
    p.add_argument("--requests", type=int, default=2000)
    p.add_argument("--url", default=None, help="a running server (then --pid too)")
    p.add_argument("--pid", type=int, default=None)
    args = p.parse_args()
    if args.url:
        for name, row in measure(args.url, args.pid, args.requests).items():
            print(json.dumps({"endpoint": name, **row}))
        return
    from benchmarks.peers.leaseq_peer import Server

    with tempfile.TemporaryDirectory(prefix="leaseq-perreq-") as tmp:
        server = Server(f"sqlite:///{tmp}/leaseq.db", Path(tmp) / "serve.log")
        try:
            rows = measure(server.url, server.child.pid, args.requests)
        finally:
            server.child.stop()
    for name, row in rows.items():
        print(json.dumps({"endpoint": name, **row}))


if __name__ == "__main__":
    main()
