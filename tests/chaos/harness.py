"""The chaos harness: real processes on loopback, a recorded history, faults, a checker.

Every client operation and every job execution becomes one ``Op`` in a JSON-lines
history: what was done, to which job (id and idempotency key), under which lease token,
when it started and ended, and whether it was ``ok``, ``failed`` (refused by the server)
or ``unknown`` (no answer: the request may or may not have taken effect). Faults the
harness injects (``kill`` and ``stop`` of a server or worker, ``kill`` and ``read-only``
of the database) are recorded the same way.
``check`` reads the history and the store's final listing after the drain and counts what
must never happen, plus the re-executions and how many of them a recorded fault explains.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx

ROOT = Path(__file__).resolve().parents[2]
Outcome = Literal["ok", "failed", "unknown"]
FAULTS = ("kill", "stop", "read-only")
DELIVERIES = ("exec", "deliver")
SHARED = ("server", "database")
"""Fault targets every job's lease depends on, whichever process held it."""


@dataclass(slots=True)
class Op:
    """One line of history. ``target`` says what a fault hit (``server``, ``worker`` or
    ``database``) or which node a request went to; ``detail`` is a refusal's message."""

    op: str
    start: float
    end: float = 0.0
    outcome: Outcome = "unknown"
    job: str | None = None
    key: str | None = None
    token: str | None = None
    pid: int | None = None
    target: str | None = None
    status: int | None = None
    detail: str | None = None


class History:
    """A thread-safe, append-only history, mirrored to a JSON-lines file as it grows."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.ops: list[Op] = []
        self._lock = threading.Lock()
        self._file = path.open("a", encoding="utf-8")

    def add(self, *ops: Op) -> None:
        with self._lock:
            self.ops.extend(ops)
            self._file.write("".join(json.dumps(asdict(o)) + "\n" for o in ops))

    def fault(self, op: str, target: str, pid: int | None) -> None:
        now = time.time()
        self.add(Op(op, now, now, "ok", pid=pid, target=target))

    def close(self) -> None:
        with self._lock:
            self._file.close()


@dataclass(slots=True)
class Figures:
    """What one run counts; the first four must be zero, and so must ``unexplained``."""

    name: str
    seed: int
    accepted: int = 0
    lost: int = 0
    duplicate_created: int = 0
    double_done: int = 0
    unexpected: int = 0
    reexecutions: int = 0
    explained: int = 0
    faults: int = 0
    extra: dict[str, Any] = field(default_factory=dict)
    unexplained_pairs: list[tuple[dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    @property
    def unexplained(self) -> int:
        return self.reexecutions - self.explained

    def line(self) -> str:
        hidden = ("name", "extra", "unexplained_pairs")
        parts = [f"{k}={v}" for k, v in asdict(self).items() if k not in hidden]
        parts += [f"unexplained={self.unexplained}"]
        parts += [f"{k}={v}" for k, v in self.extra.items()]
        return f"chaos {self.name}: " + " ".join(parts)

    def assert_safe(self) -> None:
        print(self.line())
        bad = (self.lost, self.duplicate_created, self.double_done, self.unexpected)
        assert bad == (0, 0, 0, 0) and self.unexplained == 0, (
            f"{self.line()}\nfirst unexplained (previous, next): {self.unexplained_pairs}"
        )


def check(name: str, seed: int, ops: Sequence[Op], jobs: Iterable[Mapping[str, Any]]) -> Figures:
    """Counts the run's figures from its history and the store's jobs after the drain."""
    jobs = list(jobs)
    state = {j["id"]: j["state"] for j in jobs}
    enqueues = [o for o in ops if o.op == "enqueue"]
    accepted = {o.job for o in enqueues if o.outcome == "ok" and o.job is not None}
    tried_keys = {o.key for o in enqueues}
    by_key: dict[str, set[str]] = defaultdict(set)
    for j in jobs:
        if j.get("idempotency_key"):
            by_key[j["idempotency_key"]].add(j["id"])
    figures = Figures(name, seed, accepted=len(accepted))
    figures.lost = sum(1 for job_id in accepted if state.get(job_id) != "DONE")
    figures.duplicate_created = sum(len(ids) - 1 for ids in by_key.values())
    tokens: dict[str, set[str | None]] = defaultdict(set)
    for o in ops:
        if o.op == "ack" and o.outcome == "ok" and o.job is not None:
            tokens[o.job].add(o.token)
    figures.double_done = sum(1 for t in tokens.values() if len(t) > 1)
    deliveries = [o for o in ops if o.op in DELIVERIES]
    figures.unexpected = sum(
        1 for o in deliveries if o.key not in tried_keys and o.job not in accepted
    )
    faults = [o for o in ops if o.op in FAULTS]
    figures.faults = len(faults)
    _count_reexecutions(figures, deliveries, faults)
    return figures


def _count_reexecutions(figures: Figures, deliveries: Sequence[Op], faults: Sequence[Op]) -> None:
    """A re-execution is explained when a fault hit the previous execution's process (at
    any time before this one was seen), or any server or the database they share between
    the earliest moment that execution's lease could have been granted (its request's
    start) and the latest moment this one's was (its request's end): that fault is why the
    previous lease was never completed (``_explains``).
    Deliveries are ordered by when they were seen, since two polls may overlap: a lease
    answered to the later poll and lost with the database goes to the earlier one."""
    runs: dict[str, list[Op]] = defaultdict(list)
    for o in deliveries:
        runs[o.key or o.job or "?"].append(o)
    for group in runs.values():
        group.sort(key=_seen)
        for prev, cur in itertools.pairwise(group):
            figures.reexecutions += 1
            if any(_explains(f, prev, cur) for f in faults):
                figures.explained += 1
            elif len(figures.unexplained_pairs) < 3:  # enough to see why, in the failure
                figures.unexplained_pairs.append((asdict(prev), asdict(cur)))


def _explains(fault: Op, prev: Op, cur: Op) -> bool:
    """Whether ``fault`` is why ``prev`` never completed. A kill of ``prev``'s own process
    explains it whenever it came before ``cur`` was seen: a killed process runs nothing
    after its death, so an execution it recorded a few microseconds after the kill was
    stamped (the signal was still on its way; seen in CI) was cut short by that kill. A
    fault of a shared component (a server, the database) explains it only from ``prev``'s
    request on."""
    if fault.start > _seen(cur):
        return False
    if fault.pid is not None and fault.pid == prev.pid:
        return True
    return fault.target in SHARED and prev.start <= fault.start


def _seen(o: Op) -> float:
    """When a delivery is known to have happened: a poll's answer, an execution's start
    (an execution cut short by kill -9 has no end)."""
    return o.end if o.op == "deliver" else o.start


# -- processes -----------------------------------------------------------------------


class Worker:
    """``leaseq worker tests.chaos.app:app`` on a server, with its own log."""

    def __init__(self, url: str, log: Path, lease_s: float, concurrency: int = 8) -> None:
        env = {**os.environ, "LEASEQ_URL": url, "PYTHONUNBUFFERED": "1"}
        args = [sys.executable, "-m", "leaseq", "worker", "tests.chaos.app:app",
                "--queues", "chaos", "--concurrency", str(concurrency),
                "--lease-seconds", str(lease_s), "--poll-wait", "1"]  # fmt: skip
        with log.open("ab") as out:
            self.proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=out)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def signal(self, sig: signal.Signals) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(sig)


def executions(out_dir: Path) -> list[Op]:
    """Pairs the start and end lines the task wrote (``tests.chaos.app``) into ``exec``
    ops; an execution with no end line was cut short, its outcome is ``unknown``."""
    ops: list[Op] = []
    for path in sorted(out_dir.glob("exec-*.jsonl")):
        running: dict[str, Op] = {}
        for line in path.read_text().splitlines():
            if not line.endswith("}"):
                continue  # a line torn by kill -9 mid-write
            rec = json.loads(line)
            if rec["what"] == "start":
                running[rec["key"]] = op = Op("exec", rec["at"], key=rec["key"], pid=rec["pid"])
                ops.append(op)
            elif (done := running.pop(rec["key"], None)) is not None:
                done.end, done.outcome = rec["at"], "ok"
    return ops


# -- reading the store ---------------------------------------------------------------


def list_jobs(url: str, queue: str, timeout_s: float = 120) -> list[dict[str, Any]]:
    """Every job of ``queue``, page by page (bounded by the page count and time)."""
    out: list[dict[str, Any]] = []
    cursor: str | None = None
    deadline = time.monotonic() + timeout_s
    with httpx.Client(base_url=url, timeout=30) as http:
        while time.monotonic() < deadline:
            params: dict[str, Any] = {"queue": queue, "limit": 1000}
            if cursor:
                params["cursor"] = cursor
            page = http.get("/jobs", params=params).raise_for_status().json()
            out.extend(page["jobs"])
            cursor = page.get("next_cursor")
            if not cursor:
                return out
    raise AssertionError(f"listing the jobs took more than {timeout_s}s")


def done_ops(url: str, job_ids: Iterable[str]) -> list[Op]:
    """The server's ``done`` events as ``ack`` ops, one lease (attempt) per token, so two
    completions of one job under different leases show up as a double done."""
    ops: list[Op] = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for job_id in job_ids:
            for e in job_events(http, job_id):
                if e["kind"] == "done":
                    ops.append(Op("ack", 0, 0, "ok", job=job_id, token=f"attempt-{e['attempt']}"))
    return ops


def job_events(http: httpx.Client, job_id: str, max_pages: int = 1000) -> list[dict[str, Any]]:
    """The job's whole history, page after page."""
    events: list[dict[str, Any]] = []
    params: dict[str, str | int] = {"limit": 1000}
    for _ in range(max_pages):
        page = http.get(f"/jobs/{job_id}/events", params=params).raise_for_status().json()
        events += page["events"]
        if page["next_cursor"] is None:
            return events
        params["cursor"] = page["next_cursor"]
    raise AssertionError(f"the history of {job_id} has more than {max_pages} pages")


def done_count(url: str, queue: str) -> int:
    try:
        stats = httpx.get(f"{url}/stats", timeout=10).json()["queues"].get(queue, {})
    except (httpx.HTTPError, ValueError):
        return -1
    return int(stats.get("DONE", 0))


def wait_until(check: Callable[[], bool], timeout: float, every: float = 0.2) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(every)
    return check()


def integrity_check(db_path: Path) -> str:
    """``PRAGMA integrity_check`` of a SQLite file whose server is down."""
    conn = sqlite3.connect(db_path)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


@contextmanager
def history(path: Path) -> Iterator[History]:
    h = History(path)
    try:
        yield h
    finally:
        h.close()
