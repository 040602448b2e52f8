"""Timed building blocks shared by every scenario: parallel producers, drains, latency."""

from __future__ import annotations

import multiprocessing as mp
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from benchmarks import per_request, starts
from benchmarks.peers import Peer, Producer, Settings, load
from benchmarks.procs import RssSampler

LATENCY_GAP_S = 0.020
MB = 1024 * 1024


def _produce(name: str, settings: Settings, indexes: range, threads: int, ready, out) -> None:  # type: ignore[no-untyped-def]
    """Child process: ``threads`` producers, released by the barrier, enqueue the slice."""
    per = -(-len(indexes) // threads)
    parts = [indexes[k * per : (k + 1) * per] for k in range(threads)]
    producers = [load(name).make_producer(settings) for _ in parts]
    for producer, part in zip(producers, parts, strict=True):
        producer.enqueue_one(part[0])  # opens the connection before the clock starts

    def run(producer: Producer, part: range) -> None:
        for i in part[1:]:
            producer.enqueue_one(i)

    workers = [
        threading.Thread(target=run, args=pair) for pair in zip(producers, parts, strict=True)
    ]
    ready.wait(120)
    t0 = time.perf_counter()
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    out.put((t0, time.perf_counter(), len(indexes) - len(parts)))
    for producer in producers:
        producer.close()


def enqueue_parallel(
    name: str, settings: Settings, indexes: range, procs: int, threads: int = 1
) -> float:
    """Jobs/s of ``procs`` processes x ``threads`` threads, each calling ``enqueue_one`` in
    a loop (the first job of each thread opens its connection and is not timed)."""
    per = -(-len(indexes) // procs)
    slices = [indexes[k * per : (k + 1) * per] for k in range(procs)]
    if any(len(s) < 2 * threads for s in slices):
        raise ValueError(f"give at least two jobs per producer ({procs} x {threads})")
    ctx = mp.get_context("spawn")
    ready, out = ctx.Barrier(procs + 1), ctx.Queue()
    children = [
        ctx.Process(target=_produce, args=(name, settings, s, threads, ready, out), daemon=True)
        for s in slices
    ]
    for c in children:
        c.start()
    ready.wait(120)
    spans = [out.get(timeout=max(60.0, len(indexes) / 50)) for _ in children]
    for c in children:
        c.join(30)
    jobs = sum(n for _, _, n in spans)
    return jobs / (max(t1 for _, t1, _ in spans) - min(t0 for t0, _, _ in spans))


def enqueue_bulk(peer: Peer, indexes: range) -> float:
    producer = peer.make_producer(peer.settings)
    try:
        t0 = time.perf_counter()
        producer.enqueue_bulk(indexes)
        return len(indexes) / (time.perf_counter() - t0)
    finally:
        producer.close()


def drain_timeout(n: int) -> float:
    return 60 + n / 50  # 50 jobs/s: below the slowest system seen here, still bounded


def wait_started(peer: Peer, directory: Path, n: int, timeout: float) -> dict[int, float]:
    """Like ``starts.wait_for``, but fails at once if a worker died."""
    collector = starts.Collector(directory)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        peer.check_workers()
        try:
            left = min(1.0, deadline - time.monotonic())
            return starts.wait_for(directory, n, left, collector=collector)
        except TimeoutError:
            continue
    return starts.wait_for(directory, n, 0, collector=collector)


def drain_rate(started: dict[int, float], indexes: range) -> float:
    """Jobs/s from the first job's start to the last's: worker start-up is not counted,
    which favours no system (celery's boot is the slowest, leaseq's the fastest)."""
    times = [started[i] for i in indexes]
    return len(times) / (max(times) - min(times))


def measure_latency(peer: Peer, directory: Path, indexes: range) -> dict[str, float]:
    """Enqueues one job every 20 ms to idle workers; ms from the call to the job's start."""
    producer = peer.make_producer(peer.settings)
    sent: dict[int, float] = {}
    try:
        next_at = time.monotonic()
        for i in indexes:
            next_at += LATENCY_GAP_S
            sent[i] = time.time()
            producer.enqueue_one(i)
            time.sleep(max(0.0, next_at - time.monotonic()))
    finally:
        producer.close()
    started = wait_started(peer, directory, indexes.stop, 60)
    lat = sorted((started[i] - sent[i]) * 1000 for i in indexes)
    return {"latency_p50_ms": percentile(lat, 50), "latency_p99_ms": percentile(lat, 99)}


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile."""
    k = max(0, min(len(sorted_values) - 1, round(q / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


def drain_with_rss(
    peer: Peer, directory: Path, n: int, start: Callable[[], None]
) -> dict[str, float]:
    """Starts the workers with ``start`` and waits for jobs ``0..n-1``; RSS in MB, and
    the server's CPU and voluntary context switches per job (and per request, where the
    server counts its requests) over the drain, worker start-up included."""
    servers, requests = peer.server_pids(), peer.requests()
    before = [per_request.sample(pid) for pid in servers]
    start()
    roles = {"server": servers, "workers": peer.worker_pids()}
    with RssSampler({k: v for k, v in roles.items() if v}) as rss:
        started = wait_started(peer, directory, n, drain_timeout(n))
    out = {"drain_jobs_per_s": drain_rate(started, range(n))}
    for role, peak in rss.peak.items():
        out[f"{role}_rss_peak_mb"] = peak / MB
    if servers:
        d = [per_request.sample(pid) - b for pid, b in zip(servers, before, strict=True)]
        cpu, switches = sum(x.user_s + x.sys_s for x in d), sum(x.voluntary for x in d)
        out |= {"server_cpu_us_per_job": cpu * 1e6 / n, "server_switches_per_job": switches / n}
        if requests is not None and (after := peer.requests()) is not None:
            count = max(after - requests, 1.0)
            out |= {"requests_per_job": count / n, "server_cpu_us_per_request": cpu * 1e6 / count,
                    "server_switches_per_request": switches / count}  # fmt: skip
    return out


def summarize(runs: list[float]) -> dict[str, float]:
    med = statistics.median(runs)
    return {
        "median": med,
        "min": min(runs),
        "max": max(runs),
        "spread_pct": 0.0 if med == 0 else (max(runs) - min(runs)) / med * 100,
    }
