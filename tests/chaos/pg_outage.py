"""PostgreSQL itself failing under load: killed with SIGKILL and restarted, or turned
read-only and back (what a failover onto a standby looks like to a client).

Two ``leaseq serve`` nodes share a database of a private cluster
(``tests.support.pgcluster``). Producers enqueue with idempotency keys and retry until
answered 2xx; consumers poll and ack at once; a prober asks each node's ``/health``.
Every request goes into the history with its start, end and status (a ``poll`` or
``health`` op, besides the ``enqueue``, ``deliver`` and ``ack`` ops ``harness.check``
reads), so the run can say how each request was answered while the database was away,
and how soon after it came back each node served again.
"""

from __future__ import annotations

import itertools
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from tests.chaos.app import QUEUE
from tests.chaos.harness import Figures, History, Op, check, done_count, list_jobs, wait_until
from tests.chaos.scenarios import Load, _ack, _enqueue_batch
from tests.support.pgcluster import PrivateCluster
from tests.support.server import ServerProcess

BATCH = 20
CLIENT_TIMEOUT_S = 15.0
"""Longer than any answer may take (5 s), so a hang shows as a timed-out request."""
ANSWER_LIMIT_S = 5.0
RESUME_LIMIT_S = 10.0
WRITES = ("enqueue", "poll", "ack")


@dataclass(frozen=True)
class Window:
    """When the database went away (killed, or turned read-only) and came back;
    ``down_until`` is the last moment it was seen still away (at most ``end``)."""

    start: float
    end: float
    down_until: float


def _produce(url: str, prefix: str, h: History, stop: threading.Event, deadline: float) -> None:
    """Enqueues batches of fresh keys until ``stop``; a batch that was not answered 2xx
    is sent again with the same keys, so a retry never makes a second job."""
    with httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT_S) as http:
        for n in itertools.count():
            keys = [f"{prefix}-{n}-{i}" for i in range(BATCH)]
            while not stop.is_set() and time.monotonic() < deadline:
                ops = _enqueue_batch(http, keys, None)
                h.add(*ops)
                if ops[0].outcome == "ok":
                    break
                time.sleep(0.05)
            if stop.is_set() or time.monotonic() >= deadline:
                return
            time.sleep(0.05)


def _consume(url: str, h: History, stop: threading.Event, deadline: float) -> None:
    """Polls (a write: the claim) and acks at once, recording every request."""
    body = {"worker_id": f"c{threading.get_ident()}", "queues": [QUEUE], "max_jobs": 20,
            "wait": 1, "lease_seconds": 10}  # fmt: skip
    with httpx.Client(base_url=url, timeout=CLIENT_TIMEOUT_S) as http:
        while not stop.is_set() and time.monotonic() < deadline:
            start = time.time()
            try:
                r = http.post("/poll", json=body)
            except httpx.TransportError:
                h.add(Op("poll", start, time.time(), "unknown", target=url))
                time.sleep(0.05)
                continue
            end = time.time()
            ok = r.status_code == 200
            h.add(Op("poll", start, end, "ok" if ok else "failed", target=url,
                     status=r.status_code, detail=None if ok else r.text[:300]))  # fmt: skip
            if not ok:
                time.sleep(0.05)
                continue
            jobs = r.json()["jobs"]
            h.add(*(Op("deliver", start, end, "ok", job=j["id"], key=j["idempotency_key"],
                       token=j["lease_token"]) for j in jobs))  # fmt: skip
            if jobs:
                try:
                    _ack(http, jobs, h, Load([], []))
                except httpx.TransportError:
                    time.sleep(0.05)  # recorded as unknown; the lease runs out


def _probe(url: str, h: History, stop: threading.Event, deadline: float) -> None:
    """Asks one node's ``/health`` every 0.2 s. One prober per node: a probe may take its
    full 2 s timeout, and a shared prober could then miss a short outage on the next node."""
    with httpx.Client(timeout=CLIENT_TIMEOUT_S) as http:
        while not stop.is_set() and time.monotonic() < deadline:
            start = time.time()
            try:
                status: int | None = http.get(f"{url}/health").status_code
            except httpx.TransportError:
                status = None
            h.add(Op("health", start, time.time(), "unknown" if status is None else "ok",
                     target=url, status=status))  # fmt: skip
            time.sleep(0.2)


@contextmanager
def traffic(
    servers: Sequence[ServerProcess], h: History, prefix: str, budget_s: float
) -> Iterator[Callable[[], None]]:
    """Two producers, two consumers and two health probers (one of each per node) run
    until the block ends; yields a function that stops the producers and waits for
    their last answers, so that every accepted enqueue is in the history."""
    urls = [s.url for s in servers]
    deadline = time.monotonic() + budget_s
    stop_producing, stop_all = threading.Event(), threading.Event()
    producers = [threading.Thread(target=_produce,
                                  args=(u, f"{prefix}-p{i}", h, stop_producing, deadline))
                 for i, u in enumerate(urls)]  # fmt: skip
    others = [threading.Thread(target=_consume, args=(u, h, stop_all, deadline)) for u in urls]
    others += [threading.Thread(target=_probe, args=(u, h, stop_all, deadline)) for u in urls]

    def stop_and_join_producers() -> None:
        stop_producing.set()
        for t in producers:
            t.join(60)

    for t in [*producers, *others]:
        t.start()
    try:
        yield stop_and_join_producers
    finally:
        stop_and_join_producers()
        stop_all.set()
        for t in others:
            t.join(60)


def first_ok_after(h: History, at: float, ops: Sequence[str], url: str | None = None) -> float:
    """Seconds from ``at`` to the end of the first ``ok`` request of ``ops`` (on node
    ``url``, for polls and health) that ended after it; inf if none did."""
    ends = [o.end for o in list(h.ops)
            if o.op in ops and o.outcome == "ok" and o.end >= at
            and (url is None or o.target in (None, url))]  # fmt: skip
    return min(ends, default=float("inf")) - at


def wait_resumed(h: History, at: float, urls: Sequence[str], timeout_s: float) -> None:
    """Waits (bounded) until every node answered a poll and an enqueue went through."""

    def resumed() -> bool:
        return all(first_ok_after(h, at, ("poll",), u) < float("inf") for u in urls) and (
            first_ok_after(h, at, ("enqueue",)) < float("inf")
        )

    wait_until(resumed, timeout_s, every=0.1)


def during(h: History, w: Window) -> list[Op]:
    """The requests that started while the database was away."""
    return [o for o in h.ops if o.op in (*WRITES, "health") and w.start <= o.start < w.end]


def drain(url: str, h: History, timeout_s: float) -> int:
    accepted = len({o.job for o in h.ops if o.op == "enqueue" and o.outcome == "ok"})
    if not wait_until(lambda: done_count(url, QUEUE) >= accepted, timeout_s, every=0.5):
        raise AssertionError(f"drain: {done_count(url, QUEUE)} of {accepted} DONE")
    return accepted


def bad_answers(h: History) -> list[str]:
    """Requests of the whole run that got no answer (a dropped connection, or none in
    ``CLIENT_TIMEOUT_S``) or a 500."""
    return [f"{o.op} {o.target} {o.status} {o.end - o.start:.1f}s" for o in h.ops
            if o.op in (*WRITES, "health") and (o.status is None or o.status == 500)]  # fmt: skip


# -- kill -9 of PostgreSQL -------------------------------------------------------------


def kill_run(
    name: str, cluster: PrivateCluster, servers: list[ServerProcess], h: History, seed: int,
    outages: int, last_outage_s: float | None = None,
) -> dict[str, Any]:  # fmt: skip
    """Kills the cluster ``outages`` times under load, each time for a seeded 2-4 s (the
    last for ``last_outage_s`` if given), and restarts it; after each restart waits
    until every node serves again."""
    rng = random.Random(seed)
    urls = [s.url for s in servers]
    windows: list[Window] = []
    with traffic(servers, h, f"{name}-{seed}", budget_s=outages * 60 + 180) as stop_producing:
        for n in range(outages):
            time.sleep(rng.uniform(1.0, 3.0))
            killed = cluster.kill()
            h.add(Op("kill", killed, killed, "ok", target="database"))
            seconds = rng.uniform(2.0, 4.0)
            if last_outage_s is not None and n == outages - 1:
                seconds = last_outage_s
            time.sleep(seconds)
            back = cluster.start()
            windows.append(Window(killed, back, cluster.refused_at))
            wait_resumed(h, windows[-1].end, urls, 30)
        time.sleep(1.0)
        stop_producing()
        drain(urls[0], h, 120)
    return summarise(h, windows, urls)


def summarise(h: History, windows: Sequence[Window], urls: Sequence[str]) -> dict[str, Any]:
    answered = [o for w in windows for o in during(h, w)]
    resume = [
        max(first_ok_after(h, w.end, ("enqueue",)), *(first_ok_after(h, w.end, ("poll",), u)
                                                       for u in urls))
        for w in windows
    ]  # fmt: skip
    return {
        "outages": len(windows),
        "requests_during": len({(o.op, o.start, o.target) for o in answered}),
        "max_answer_s": round(max((o.end - o.start for o in answered), default=0.0), 2),
        "max_resume_s": round(max(resume, default=0.0), 2),
        "windows": windows,
    }


def checked(name: str, seed: int, h: History, url: str) -> Figures:
    """The harness's figures of a drained run."""
    return check(name, seed, h.ops, list_jobs(url, QUEUE))


# -- a database that turns read-only -----------------------------------------------------

READS = ("/stats", f"/jobs?queue={QUEUE}&limit=10")


def _read(servers: Sequence[ServerProcess], h: History, job_id: str | None) -> None:
    """One round of reads on every node: the counts, a page of jobs, an accepted job."""
    paths = [*READS, *([f"/jobs/{job_id}"] if job_id else [])]
    with httpx.Client(timeout=CLIENT_TIMEOUT_S) as http:
        for url, path in itertools.product((s.url for s in servers), paths):
            start = time.time()
            try:
                r = http.get(url + path)
                status, detail = r.status_code, None if r.status_code == 200 else r.text[:300]
            except httpx.TransportError as exc:
                status, detail = None, repr(exc)
            h.add(Op("read", start, time.time(), "ok" if status == 200 else "failed",
                     target=url + path, status=status, detail=detail))  # fmt: skip


def read_only_run(
    name: str, cluster: PrivateCluster, servers: list[ServerProcess], h: History, seed: int,
    rounds: int,
) -> dict[str, Any]:  # fmt: skip
    """Turns the database read-only ``rounds`` times under load, each time for a seeded
    3-5 s of reads on every node, then writable again; after each, waits until every node
    serves writes again."""
    rng = random.Random(seed)
    urls = [s.url for s in servers]
    windows: list[Window] = []
    with traffic(servers, h, f"{name}-{seed}", budget_s=rounds * 60 + 180) as stop_producing:
        for _ in range(rounds):
            time.sleep(rng.uniform(1.0, 3.0))
            start = cluster.set_read_only(True)
            h.add(Op("read-only", start, start, "ok", target="database"))
            until = time.monotonic() + rng.uniform(3.0, 5.0)
            while time.monotonic() < until:
                accepted = next((o.job for o in reversed(list(h.ops))
                                 if o.op == "enqueue" and o.outcome == "ok"), None)  # fmt: skip
                _read(servers, h, accepted)
                time.sleep(0.2)
            end = cluster.set_read_only(False)
            windows.append(Window(start, end, end))
            wait_resumed(h, end, urls, 30)
        time.sleep(1.0)
        stop_producing()
        drain(urls[0], h, 120)
    return summarise(h, windows, urls)
