"""Scenarios only leaseq has: flat cost with a big store, and memory over a long run."""

from __future__ import annotations

from benchmarks import measure
from benchmarks.peers import Settings
from benchmarks.peers.leaseq_peer import LeaseqPeer
from benchmarks.procs import tree_rss
from benchmarks.scenarios import Metrics, fresh_dir

MB = 1024 * 1024
ENQUEUE_SAMPLE = 10_000  # jobs enqueued in batches of 1000 to time enqueue at each size


def _drain_all(peer: LeaseqPeer, name: str, indexes: range) -> dict[int, float]:
    """Workers run ``indexes`` (already enqueued) to DONE, then stop."""
    directory = fresh_dir(peer.settings.work / f"starts-{name}")
    peer.start_workers(directory)
    try:
        return measure.wait_started(
            peer, directory, len(indexes), measure.drain_timeout(len(indexes))
        )
    finally:
        peer.stop_workers()


def flat_cost(settings: Settings, ready: int, sample: int) -> Metrics:
    """Batched enqueue and drain rates with ``ready`` jobs ready and ``ready`` DONE kept."""
    peer = LeaseqPeer(settings)
    try:
        peer.setup()
        measure.enqueue_bulk(peer, range(ready))
        _drain_all(peer, "flat-done", range(ready))  # now ``ready`` jobs are DONE
        measure.enqueue_bulk(peer, range(ready, 2 * ready))
        out = {"server_rss_mb": sum(tree_rss(p) for p in peer.server_pids()) / MB}
        out["enqueue_bulk_jobs_per_s"] = measure.enqueue_bulk(
            peer, range(2 * ready, 2 * ready + ENQUEUE_SAMPLE)
        )
        directory = fresh_dir(settings.work / "starts-flat")
        peer.start_workers(directory)
        first = range(ready, ready + min(sample, ready))
        started = measure.wait_started(peer, directory, len(first), measure.drain_timeout(sample))
        out["drain_jobs_per_s"] = measure.drain_rate(started, first)
    finally:
        peer.stop()
    return out


def memory(settings: Settings, jobs: int, rounds: int) -> Metrics:
    """Server RSS with ``jobs`` ready; worker RSS after each of ``rounds`` drains of
    ``jobs`` by the same two workers (growth is what a leak would show)."""
    peer = LeaseqPeer(settings)
    directory = fresh_dir(settings.work / "starts-memory")
    out: Metrics = {}
    try:
        peer.setup()
        measure.enqueue_bulk(peer, range(jobs))
        out["server_rss_ready_mb"] = sum(tree_rss(p) for p in peer.server_pids()) / MB
        peer.start_workers(directory)
        after: list[float] = []
        for r in range(rounds):
            if r:
                measure.enqueue_bulk(peer, range(r * jobs, (r + 1) * jobs))
            measure.wait_started(peer, directory, (r + 1) * jobs, measure.drain_timeout(jobs))
            after.append(sum(tree_rss(p) for p in peer.worker_pids()) / MB / len(peer.workers))
        out["worker_rss_first_round_mb"] = after[0]
        out["worker_rss_last_round_mb"] = after[-1]
        out["worker_rss_max_round_mb"] = max(after)  # a leak may also rise and fall back
        out["server_rss_end_mb"] = sum(tree_rss(p) for p in peer.server_pids()) / MB
    finally:
        peer.stop()
    return out
