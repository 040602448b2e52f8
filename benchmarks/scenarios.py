"""The comparison scenario, identical for every system: enqueue, drain, latency, RSS."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from benchmarks import measure
from benchmarks.peers import Settings, load

Metrics = dict[str, float]


@dataclass(frozen=True)
class Plan:
    """Sizes of one run; ``jobs`` are pre-filled and drained by 2 worker processes."""

    jobs: int = 100_000
    single_jobs: int = 20_000  # of ``jobs``, enqueued one by one; the rest in bulk
    producers: int = 4  # processes enqueueing one by one...
    producer_threads: int = 4  # ...each with this many threads (16 enqueues in flight)
    sequential_jobs: int = 1_000  # of the single ones (at most a quarter), by one producer
    latency_jobs: int = 300  # one every 20 ms to idle workers


def fresh_dir(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


def compare(name: str, settings: Settings, plan: Plan) -> Metrics:
    """One trial of one system: its numbers for the comparison table."""
    peer = load(name)(settings)
    directory = fresh_dir(settings.work / f"starts-{name}")
    n = plan.jobs
    single = min(plan.single_jobs, n) if peer.has_bulk else n
    out: Metrics = {}
    try:
        peer.setup()
        seq = min(plan.sequential_jobs, single // 4)
        out["enqueue_seq_jobs_per_s"] = measure.enqueue_parallel(
            name, peer.settings, range(seq), 1, 1
        )
        out["enqueue_one_jobs_per_s"] = measure.enqueue_parallel(
            name, peer.settings, range(seq, single), plan.producers, plan.producer_threads
        )
        if single < n:
            out["enqueue_bulk_jobs_per_s"] = measure.enqueue_bulk(peer, range(single, n))
        out |= measure.drain_with_rss(peer, directory, n, lambda: peer.start_workers(directory))
        out |= measure.measure_latency(peer, directory, range(n, n + plan.latency_jobs))
        out |= peer.extras()
    finally:
        peer.stop()
    return out
