"""Domain values into answers: one call per route turns what the service returned into
the JSON response (the wire Structs of ``wire``, encoded by msgspec)."""

from __future__ import annotations

import functools
import time
from collections.abc import Sequence
from typing import Any

import msgspec
from msgspec import Raw
from starlette.responses import Response

from leaseq import __version__
from leaseq.core.model import (
    DeadGroup,
    EventListing,
    JobListing,
    JobRecord,
    JobState,
    QueueCounts,
    WorkerInfo,
)
from leaseq.core.queues import QueueInfo
from leaseq.errors import LeaseqError
from leaseq.server.history import Minute
from leaseq.server.http import wire, wire_history, wire_poll, wire_queues
from leaseq.server.http.errors import status_of
from leaseq.server.service import Health


def json_response(value: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status_code=status, media_type="application/json")


def job(record: JobRecord) -> Response:
    return json_response(wire.JobEnvelope(job_out(record)))


def enqueued(results: Sequence[tuple[JobRecord, bool]], batch: bool) -> Response:
    """201 when the request created a job, 200 when idempotency keys found them all."""
    status = 201 if any(new for _, new in results) else 200
    if not batch:
        ((record, _),) = results
        return json_response(wire.JobEnvelope(job_out(record)), status)
    return json_response(wire.JobsEnvelope([job_out(record) for record, _ in results]), status)


def leased(
    records: Sequence[JobRecord],
    acks: tuple[Sequence[JobRecord | LeaseqError], Sequence[str]] | None = None,
) -> Response:
    """The poll's answer; with ``acks`` (the outcomes and job ids of the acks it carried)
    also what each did, as a batch ``POST /ack`` reports it, without the job."""
    jobs = [leased_job_out(r) for r in records]
    if acks is None:
        return json_response(wire_poll.LeasedJobsEnvelope(jobs))
    results = [_ack_result(a, job_id) for a, job_id in zip(*acks, strict=True)]
    return json_response(wire_poll.LeasedJobsEnvelope(jobs, results))


def _ack_result(answer: JobRecord | LeaseqError, job_id: str) -> wire_poll.AckResult:
    if isinstance(answer, LeaseqError):
        error = wire.ErrorBody(answer.code, answer.message)
        return wire_poll.AckResult(job_id, status_of(answer), error)
    return wire_poll.AckResult(job_id, 200)


def outcomes(
    answers: Sequence[JobRecord | LeaseqError], job_ids: Sequence[str], batch: bool
) -> Response:
    """A batch answers each item with its status; a single request answers as the job, or
    raises its refusal to be answered as an error."""
    if not batch:
        (answer,) = answers
        if isinstance(answer, LeaseqError):
            raise answer
        return job(answer)
    return json_response(
        wire.BatchOut([_item(a, job_id) for a, job_id in zip(answers, job_ids, strict=True)])
    )


def _item(answer: JobRecord | LeaseqError, job_id: str) -> wire.ItemResult:
    if isinstance(answer, LeaseqError):
        return wire.ItemResult(
            job_id, status_of(answer), error=wire.ErrorBody(answer.code, answer.message)
        )
    return wire.ItemResult(job_id, 200, job=job_out(answer))


def page(listing: JobListing) -> Response:
    return json_response(wire.PageOut([job_out(j) for j in listing.jobs], listing.next_cursor))


def requeued(count: int) -> Response:
    return json_response(wire.RequeueOut(count))


def stats(counts: dict[str, QueueCounts]) -> Response:
    return json_response(
        wire.StatsOut(
            {
                name: wire.QueueStatsOut(
                    **{state.value: s.counts.get(state, 0) for state in JobState},
                    oldest_queued_age_s=round(s.oldest_queued_age_s, 3),
                )
                for name, s in sorted(counts.items())
            }
        )
    )


def events(listing: EventListing) -> Response:
    return json_response(
        wire.EventsOut(
            [
                wire.EventOut(rfc3339(e.at), e.kind, e.state, e.worker_id, e.attempt, e.error)
                for e in listing.events
            ],
            listing.next_cursor,
        )
    )


def workers(seen: Sequence[WorkerInfo]) -> Response:
    return json_response(
        wire.WorkersOut(
            [
                wire.WorkerOut(
                    w.worker_id,
                    rfc3339(w.last_seen_at),
                    w.jobs,
                    w.done,
                    w.failed,
                    w.queues,
                    w.concurrency,
                )
                for w in seen
            ]
        )
    )


def dead_groups(groups: Sequence[DeadGroup]) -> Response:
    return json_response(
        wire.DeadGroupsOut(
            [
                wire.DeadGroupOut(g.error, g.count, g.job_ids, g.error_type, g.error_message)
                for g in groups
            ]
        )
    )


def queue(info: QueueInfo) -> Response:
    return json_response(wire_queues.QueueEnvelope(queue_out(info)))


def queues(infos: Sequence[QueueInfo]) -> Response:
    return json_response(wire_queues.QueuesOut([queue_out(q) for q in sorted(infos, key=_name)]))


def _name(info: QueueInfo) -> str:
    return info.name


def queue_out(info: QueueInfo) -> wire_queues.QueueOut:
    s, rate = info.settings, info.settings.rate_limit
    counts = {state.value: info.counts.get(state, 0) for state in JobState}
    rate_out = None if rate is None else wire_queues.RateLimitOut(rate.count, rate.per_ms / 1000)
    return wire_queues.QueueOut(
        name=info.name,
        paused=s.paused,
        concurrency=s.concurrency,
        rate_limit=rate_out,
        key_concurrency=s.key_concurrency,
        counts=wire_queues.JobCountsOut(**counts),
    )


def history(minutes: Sequence[Minute]) -> Response:
    return json_response(
        wire_history.HistoryOut(
            [wire_history.MinuteOut(rfc3339(m.start_ms), m.done, m.failed, m.dead) for m in minutes]
        )
    )


def health(found: Health) -> Response:
    return json_response(wire.HealthOut("ok", found.storage, __version__))


def job_out(record: JobRecord) -> wire.JobOut:
    """The public view of a job: never shows the lease token."""
    return wire.JobOut(**_job_fields(record))


def leased_job_out(record: JobRecord) -> wire.LeasedJobOut:
    """The poll's view: the only answer that carries the lease token."""
    assert record.lease_token is not None
    return wire.LeasedJobOut(**_job_fields(record), lease_token=record.lease_token)


def _job_fields(job: JobRecord) -> dict[str, Any]:
    return {
        "id": job.id,
        "queue": job.queue,
        "task": job.task,
        "payload": Raw(job.payload),
        "state": job.state,
        "priority": job.priority,
        "attempts": job.attempts,
        "max_tries": job.max_tries,
        "run_at": rfc3339(job.run_at),
        "lease_owner": job.lease_owner,
        "lease_expires_at": None if job.lease_expires_at is None else rfc3339(job.lease_expires_at),
        "last_error": job.last_error,
        "last_error_type": job.last_error_type,
        "last_error_message": job.last_error_message,
        "result": None if job.result is None else Raw(job.result),
        "idempotency_key": job.idempotency_key,
        "created_at": rfc3339(job.created_at),
        "updated_at": rfc3339(job.updated_at),
        "concurrency_key": job.concurrency_key,
        "idempotency_scope": job.idempotency_scope,
        "tags": list(job.tags),
        "traceparent": job.traceparent,
        "timeout": None if job.timeout_ms is None else job.timeout_ms / 1000,
        "progress": None if job.progress is None else Raw(job.progress),
        "checkpoint": None if job.checkpoint is None else Raw(job.checkpoint),
    }


@functools.lru_cache(maxsize=8192)
def rfc3339(ms: int) -> str:
    # A poll or an ack of 100 jobs formats ~400 stamps, most of them the same few
    # milliseconds (the batch's own ``now``, its jobs' common enqueue time).
    seconds, millis = divmod(ms, 1000)
    return f"{_second(seconds)}.{millis:03d}Z"


@functools.lru_cache(maxsize=4096)
def _second(seconds: int) -> str:
    # Not strftime's %Y: glibc writes year 999 as "999", which is not RFC 3339. The API
    # refuses times outside years 1000-9999, so only a store edited by hand can hold one
    # here; it is written as it is (a 5-digit year), and the client refuses that one job.
    t = time.gmtime(seconds)
    return (
        f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}"
        f"T{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d}"
    )
