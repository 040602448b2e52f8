"""What the service tells the outside world about each transition: Prometheus metrics
and structured log lines. One object, owned by the app, so there is no global registry.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from leaseq.core.model import FINISHED, Action, JobRecord, JobState, QueueCounts
from leaseq.core.queues import HeldBack, QueueInfo
from leaseq.core.schedules import Taken
from leaseq.server.history import History, outcome

log = logging.getLogger("leaseq.jobs")
_Metric = TypeVar("_Metric", Counter, Histogram)

METRICS_TYPE = CONTENT_TYPE_LATEST
"""The media type of ``Observer.exposition``."""

_LATENCY_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60, 300, 1800, 3600)

_COUNTED = {
    Action.ENQUEUED: "enqueued",
    Action.LEASED: "leased",
    Action.DONE: "acked",
    Action.FAILED: "failed",
    Action.DEAD: "dead",
    Action.EXPIRED: "lease_expired",
    Action.REQUEUED: "requeued",
    Action.CANCELLED: "cancelled",
    Action.RELEASED: "released",
    Action.TIMED_OUT: "timed_out",
}


_LEASE_ENDS = frozenset(
    {
        Action.DONE,
        Action.FAILED,
        Action.RELEASED,
        Action.EXPIRED,
        Action.TIMED_OUT,
        Action.CANCELLED,
    }
)

MAX_REMEMBERED_LEASES = 100_000
"""Leases whose worker is remembered for the log (about 150 bytes each, so 15 MB at most)."""


class Observer:
    def __init__(self, on_finished: Callable[[list[str]], None] | None = None) -> None:
        """``on_finished`` is handed the ids of the jobs each transition finished (DONE,
        DEAD, CANCELLED): every transition of the service passes here after its commit,
        so the waits for results (``server.waiting``) wake at once, whichever it was."""
        self._on_finished = on_finished
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.counters = {
            action: Counter(f"leaseq_jobs_{name}", f"Jobs {name} by this node", ["queue"],
                            registry=r)
            for action, name in _COUNTED.items()
        }  # fmt: skip
        self.jobs = Gauge(
            "leaseq_jobs", "Jobs in the store by state", ["queue", "state"], registry=r
        )
        self.oldest = Gauge("leaseq_oldest_ready_age_seconds", "Age of the oldest ready job",
                            ["queue"], registry=r)  # fmt: skip
        self.active_leases = Gauge("leaseq_active_leases", "LEASED jobs", ["queue"], registry=r)
        self.workers = Gauge("leaseq_known_workers", "Workers seen in the last 5 minutes",
                             registry=r)  # fmt: skip
        self.wait = Histogram("leaseq_job_wait_seconds", "Ready (enqueue or retry) to lease",
                              ["queue"], buckets=_LATENCY_BUCKETS, registry=r)  # fmt: skip
        self.run = Histogram("leaseq_job_run_seconds", "Lease to ack or fail", ["queue"],
                             buckets=_LATENCY_BUCKETS, registry=r)  # fmt: skip
        self.paused = Gauge("leaseq_queue_paused", "1 while the queue is paused", ["queue"],
                            registry=r)  # fmt: skip
        self.held = Counter("leaseq_claims_held", "Claims that came back short while a"
                            " ready job was held back, by the rule that held it",
                            ["queue", "reason"], registry=r)  # fmt: skip
        self._children: dict[tuple[int, str], Any] = {}
        self._holders: dict[str, str] = {}
        """Job id -> the worker that leased it on this node, for the log line of the move
        that ends the lease: a fail, a release or an expiry answers the job with its lease
        already cleared, and "worker None" on a DEAD warning says nothing."""
        self._schedule_children: dict[tuple[str, ...], tuple[Any, Any]] = {}
        self.history = History()
        """The last hour of outcomes by minute, for the dashboard (``/stats/history``)."""
        self.http = Histogram("leaseq_http_request_duration_seconds", "HTTP request duration",
                              ["method", "route"], registry=r)  # fmt: skip
        self._add_schedule_metrics()

    def _add_schedule_metrics(self) -> None:
        r = self.registry
        self.schedule_lag = Gauge(
            "leaseq_schedule_lag_seconds",
            "How late the schedule's last slot was taken (by this node), after the slot's time",
            ["schedule"], registry=r,
        )  # fmt: skip
        self.schedule_runs = Counter(
            "leaseq_schedule_runs",
            "Jobs enqueued by the schedule (slots and triggers) by this node",
            ["schedule"], registry=r,
        )  # fmt: skip
        self.schedule_skipped = Counter(
            "leaseq_schedule_skipped",
            "Slots of the schedule not run, by this node's passes: missed while no node ran"
            " (downtime) or while the previous job was still active (overlap)",
            ["schedule", "reason"], registry=r,
        )  # fmt: skip

    def transitioned(self, action: Action, jobs: Iterable[JobRecord]) -> None:
        """Counts and logs jobs that just went through ``action`` (after commit). A poll
        or an ack brings a hundred jobs of one queue: each labelled child is looked up
        and each counter incremented once per queue, not once per job."""
        debug = log.isEnabledFor(logging.DEBUG)
        counts: dict[tuple[Action, str], int] = {}
        finished: list[str] = []
        for job in jobs:
            if job.state in FINISHED:
                finished.append(job.id)
            kind = Action.DEAD if action is Action.FAILED and job.state is JobState.DEAD else action
            counts[kind, job.queue] = counts.get((kind, job.queue), 0) + 1
            holder = self._holder(action, job)
            if (field := outcome(action, job)) is not None:
                self.history.add(field, job.updated_at)
            if job.leased_at is not None:
                if kind is Action.LEASED:
                    seconds = max(job.leased_at - job.run_at, 0) / 1000
                    self._child(self.wait, job.queue).observe(seconds)
                elif kind in (Action.DONE, Action.FAILED, Action.DEAD, Action.TIMED_OUT):
                    seconds = max(job.updated_at - job.leased_at, 0) / 1000
                    self._child(self.run, job.queue).observe(seconds)
            if kind in (Action.EXPIRED, Action.TIMED_OUT) or job.state is JobState.DEAD:
                level = logging.WARNING if job.state is JobState.DEAD else logging.INFO
                self._log(level, kind, job, holder)
            elif debug:
                self._log(logging.DEBUG, kind, job, holder)
        for (kind, queue), n in counts.items():
            self._child(self.counters[kind], queue).inc(n)
        if finished and self._on_finished is not None:
            self._on_finished(finished)

    def _child(self, metric: _Metric, queue: str) -> _Metric:
        """``metric.labels(queue)``, cached: prometheus_client takes a lock per lookup."""
        key = (id(metric), queue)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(queue)
        return child

    def _holder(self, action: Action, job: JobRecord) -> str | None:
        """The worker of this transition: the job's lease owner, or the one remembered
        from its lease when this move ended it (None for a job leased on another node)."""
        if action is Action.LEASED and job.lease_owner is not None:
            if len(self._holders) >= MAX_REMEMBERED_LEASES:  # forget the oldest
                del self._holders[next(iter(self._holders))]
            self._holders[job.id] = job.lease_owner
            return job.lease_owner
        if action in _LEASE_ENDS:
            return self._holders.pop(job.id, None) or job.lease_owner
        return job.lease_owner

    def _log(self, level: int, kind: Action, job: JobRecord, holder: str | None) -> None:
        log.log(
            level,
            "job %s %s (queue %s, worker %s, attempt %d)%s",
            job.id, kind.value, job.queue, holder or "unknown", job.attempts,
            f": {job.last_error}" if job.state is JobState.DEAD and job.last_error else "",
            extra={"job_id": job.id, "queue": job.queue, "worker": holder,
                   "attempt": job.attempts, "event": kind.value, "state": job.state.value},
        )  # fmt: skip

    def slots_taken(self, taken: Iterable[Taken]) -> None:
        """Counts a scheduler pass's slots: the lag of each, its job or its overlap
        skip, and the slots missed before it. A pass may take a thousand slots, so the
        labelled children are cached (prometheus_client locks on every lookup)."""
        for t in taken:
            self._by_schedule(self.schedule_lag, t.name).set(max(t.at - t.slot_ms, 0) / 1000)
            if t.job is not None:
                self._by_schedule(self.schedule_runs, t.name).inc()
            else:
                self._by_schedule(self.schedule_skipped, t.name, "overlap").inc()
            if t.skipped:
                self._by_schedule(self.schedule_skipped, t.name, "downtime").inc(t.skipped)

    def schedule_triggered(self, name: str) -> None:
        self._by_schedule(self.schedule_runs, name).inc()

    def schedule_deleted(self, name: str) -> None:
        """Drops the deleted schedule's series, so a gauge does not outlive it."""
        for key in [k for k in self._schedule_children if k[1] == name]:
            metric = self._schedule_children.pop(key)[0]
            with contextlib.suppress(KeyError):
                metric.remove(*key[1:])

    def _by_schedule(self, metric: Any, *labels: str) -> Any:
        key = (metric._name, *labels)
        found = self._schedule_children.get(key)
        if found is None:
            found = self._schedule_children[key] = (metric, metric.labels(*labels))
        return found[1]

    def held_back(self, held: dict[str, HeldBack]) -> None:
        """Counts one claim per queue whose ready jobs a pause or a limit held back."""
        for queue, reason in held.items():
            self.held.labels(queue, reason.value).inc()

    def set_queue_gauges(self, queues: Iterable[QueueInfo]) -> None:
        for info in queues:
            self.paused.labels(info.name).set(1 if info.settings.paused else 0)

    def request_timed(self, method: str, route: str, seconds: float) -> None:
        self.http.labels(method, route).observe(seconds)

    def exposition(self) -> bytes:
        """Every metric of this node, in the Prometheus text format."""
        return generate_latest(self.registry)

    def set_store_gauges(self, stats: dict[str, QueueCounts], workers: int) -> None:
        for queue, s in stats.items():
            for state, n in s.counts.items():
                self.jobs.labels(queue, state.value).set(n)
            self.oldest.labels(queue).set(s.oldest_queued_age_s)
            self.active_leases.labels(queue).set(s.counts.get(JobState.LEASED, 0))
        self.workers.set(workers)
