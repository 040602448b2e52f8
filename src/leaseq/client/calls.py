"""Sans-I/O description of every endpoint: how to build its request and read its answer.

The sync and async clients both send these ``Call`` values, so paths, bodies, retry
safety, response parsing and error mapping exist exactly once; the clients only move
bytes. A call is *safe* when repeating it after an ambiguous failure (the request may or
may not have been applied) cannot do harm: reads, polls, heartbeats, acks and releases
(all fenced by the lease token) and enqueues that carry an idempotency key.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, Literal, TypedDict, TypeVar
from urllib.parse import quote

import msgspec
from msgspec.structs import replace

from leaseq.client import tracing
from leaseq.client.models import (
    AckSpec,
    BatchOutcome,
    EventPage,
    HeartbeatSpec,
    Job,
    JobSpec,
    Page,
    PollAnswer,
    Queue,
    QueueStats,
    RateLimit,
    Undecodable,
)
from leaseq.errors import ERRORS_BY_CODE, InvalidRequest, LeaseqError, ServerUnavailable

T = TypeVar("T")


class EnqueueOptions(TypedDict, total=False):
    """Options of one enqueue; omitted ones take the server's defaults."""

    queue: str
    task: str
    priority: int
    max_tries: int
    delay: float
    run_at: datetime
    idempotency_key: str
    concurrency_key: str
    idempotency_scope: Literal["stored", "active"]
    tags: list[str]
    traceparent: str
    timeout: float


@dataclass(frozen=True, slots=True)
class Call(Generic[T]):
    """One request to make and the function that turns a 2xx body into ``T``."""

    method: str
    path: str
    parse: Callable[[bytes], T]
    body: Any = None
    params: Mapping[str, str | list[str]] = field(default_factory=dict)
    """A list is a repeated parameter (``?tag=a&tag=b``)."""
    safe: bool = False
    # A long poll legitimately holds the response for ``wait`` seconds.
    extra_timeout: float = 0.0

    def content(self) -> bytes | None:
        return None if self.body is None else msgspec.json.encode(self.body)

    def result(self, status: int, content: bytes) -> T:
        """The parsed answer, or the ``LeaseqError`` the server's error body names."""
        if status >= 400:
            raise error_from_response(status, content)
        return self.parse(content)


# -- response shapes ---------------------------------------------------------------------


class _JobEnvelope(msgspec.Struct):
    job: Job


class _JobsEnvelope(msgspec.Struct):
    jobs: list[Job]


class _RawJobs(msgspec.Struct):
    jobs: list[msgspec.Raw]
    acks: list[_ItemResult] = []


class _JobKey(msgspec.Struct):
    id: str
    lease_token: str | None = None


_JOB = msgspec.json.Decoder(Job)


class _ErrorBody(msgspec.Struct):
    code: str
    message: str


class _ErrorOut(msgspec.Struct):
    error: _ErrorBody


class _ItemResult(msgspec.Struct):
    job_id: str
    status: int
    job: Job | None = None
    error: _ErrorBody | None = None


class _BatchOut(msgspec.Struct):
    results: list[_ItemResult]


class _RequeueOut(msgspec.Struct):
    requeued: int


class _StatsOut(msgspec.Struct):
    queues: dict[str, QueueStats]


class _QueueEnvelope(msgspec.Struct):
    queue: Queue


class _QueuesOut(msgspec.Struct):
    queues: list[Queue]


class QueuePatch(msgspec.Struct, kw_only=True, omit_defaults=True):
    """The body of ``PATCH /queues/{name}``: a field left ``UNSET`` is not sent, and so
    stays as it is on the server; ``None`` is sent as null, which removes that limit."""

    paused: bool | msgspec.UnsetType = msgspec.UNSET
    concurrency: int | msgspec.UnsetType | None = msgspec.UNSET
    rate_limit: RateLimit | msgspec.UnsetType | None = msgspec.UNSET
    key_concurrency: int | msgspec.UnsetType | None = msgspec.UNSET


def _one_job(content: bytes) -> Job:
    return msgspec.json.decode(content, type=_JobEnvelope).job


def _jobs(content: bytes) -> list[Job]:
    return msgspec.json.decode(content, type=_JobsEnvelope).jobs


def _poll_answer(content: bytes) -> PollAnswer:
    decoded = msgspec.json.decode(content, type=_RawJobs)
    answer = PollAnswer([], [], _outcomes_of(decoded.acks))
    for raw in decoded.jobs:
        try:
            answer.jobs.append(_JOB.decode(raw))
        except msgspec.ValidationError as exc:
            key = msgspec.json.decode(raw, type=_JobKey)
            answer.undecodable.append(Undecodable(key.id, key.lease_token, str(exc)))
    return answer


def _event_page(content: bytes) -> EventPage:
    return msgspec.json.decode(content, type=EventPage)


def _outcomes(content: bytes) -> list[BatchOutcome]:
    return _outcomes_of(msgspec.json.decode(content, type=_BatchOut).results)


def _outcomes_of(results: list[_ItemResult]) -> list[BatchOutcome]:
    return [
        BatchOutcome(r.job_id, r.job, None if r.error is None else make_error(r.status, r.error))
        for r in results
    ]


# -- errors ------------------------------------------------------------------------------


def make_error(status: int, body: _ErrorBody) -> LeaseqError:
    """The class the server raised when it sent a known code; else one chosen by status,
    so a proxy's 502 or a router's 404 still lands in the right branch of the tree."""
    cls = ERRORS_BY_CODE.get(body.code)
    if cls is None or cls is LeaseqError:
        if status in (502, 503, 504):
            cls = ServerUnavailable
        elif 400 <= status < 500:
            cls = InvalidRequest
        else:
            cls = LeaseqError
    return cls(body.message)


def error_from_response(status: int, content: bytes) -> LeaseqError:
    try:
        body = msgspec.json.decode(content, type=_ErrorOut).error
    except msgspec.DecodeError:
        text = content.decode(errors="replace").strip()[:200] or "no body"
        body = _ErrorBody("error", f"HTTP {status}: {text}")
    return make_error(status, body)


def unreachable(url: str, exc: Exception, *, sent: bool) -> ServerUnavailable:
    """Wraps a transport error. ``request_sent`` False means the server never saw the
    request (connection refused), so even an unsafe call may be retried."""
    error = ServerUnavailable(f"cannot reach leaseq at {url}: {exc or type(exc).__name__}")
    error.request_sent = sent  # type: ignore[attr-defined]
    return error


# -- one builder per endpoint ------------------------------------------------------------


def enqueue_one(spec: JobSpec) -> Call[Job]:
    """One job in the single form (its refusal names ``$.field``); already traced."""
    return Call("POST", "/enqueue", _one_job, spec, safe=spec.idempotency_key is not None)


def enqueue_many(specs: Iterable[JobSpec]) -> Call[list[Job]]:
    return enqueue_batch(traced(specs))


def enqueue_batch(jobs: list[JobSpec]) -> Call[list[Job]]:
    """Jobs already traced (by their callers, when ``coalescing`` gathered them)."""
    safe = all(s.idempotency_key is not None for s in jobs)
    return Call("POST", "/enqueue", _jobs, {"jobs": jobs}, safe=safe)


def poll(
    worker_id: str,
    queues: Sequence[str],
    max_jobs: int,
    lease_seconds: float | None,
    wait: float,
    concurrency: int | None = None,
    acks: Sequence[AckSpec] = (),
) -> Call[PollAnswer]:
    """With ``acks``, the fused ack-and-poll: they are applied before the claim."""
    body: dict[str, Any] = {
        "worker_id": worker_id, "queues": list(queues), "max_jobs": max_jobs, "wait": wait,
    }  # fmt: skip
    if lease_seconds is not None:
        body["lease_seconds"] = lease_seconds
    if concurrency is not None:
        body["concurrency"] = concurrency
    if acks:
        body["acks"] = list(acks)
    return Call("POST", "/poll", _poll_answer, body, safe=True, extra_timeout=wait)


def ack(job_id: str, lease_token: str, result: Any) -> Call[Job]:
    body = AckSpec(job_id, lease_token, result)
    return Call("POST", "/ack", _one_job, body, safe=True)


def ack_many(acks: Iterable[AckSpec]) -> Call[list[BatchOutcome]]:
    return Call("POST", "/ack", _outcomes, {"acks": list(acks)}, safe=True)


def fail(
    job_id: str,
    lease_token: str,
    error: str | None,
    retry: bool,
    error_type: str | None = None,
    error_message: str | None = None,
    checkpoint: Any = None,
) -> Call[Job]:
    body: dict[str, Any] = {
        "job_id": job_id, "lease_token": lease_token, "error": error, "retry": retry
    }  # fmt: skip
    # Sent only when given, so a server older than the fields still takes the call.
    optional = {"error_type": error_type, "error_message": error_message,
                "checkpoint": checkpoint}  # fmt: skip
    body.update((k, v) for k, v in optional.items() if v is not None)
    return Call("POST", "/fail", _one_job, body)


def heartbeat(
    job_id: str,
    lease_token: str,
    lease_seconds: float | None,
    progress: Any = None,
    checkpoint: Any = None,
) -> Call[Job]:
    body: dict[str, Any] = {"job_id": job_id, "lease_token": lease_token}
    optional = {"lease_seconds": lease_seconds, "progress": progress, "checkpoint": checkpoint}
    body.update((k, v) for k, v in optional.items() if v is not None)
    return Call("POST", "/heartbeat", _one_job, body, safe=True)


def heartbeat_many(
    leases: Iterable[tuple[str, str] | HeartbeatSpec], lease_seconds: float | None
) -> Call[list[BatchOutcome]]:
    """``leases``: ``(job_id, lease_token)`` pairs, or ``HeartbeatSpec`` items that also
    carry progress and a checkpoint."""
    items = [lease if isinstance(lease, HeartbeatSpec) else HeartbeatSpec(*lease)
             for lease in leases]  # fmt: skip
    body: dict[str, Any] = {"heartbeats": items}
    if lease_seconds is not None:
        body["lease_seconds"] = lease_seconds
    return Call("POST", "/heartbeat", _outcomes, body, safe=True)


def release(job_id: str, lease_token: str) -> Call[Job]:
    body = {"job_id": job_id, "lease_token": lease_token}
    return Call("POST", "/release", _one_job, body, safe=True)


def traced(specs: Iterable[JobSpec]) -> list[JobSpec]:
    """The specs, those without a ``traceparent`` given the current span's (``tracing``)."""
    jobs = list(specs)
    current = tracing.traceparent()
    if current is None:
        return jobs
    return [replace(s, traceparent=current) if s.traceparent is None else s for s in jobs]


def _page_params(
    limit: int, cursor: str | None, **filters: str | list[str] | None
) -> dict[str, str | list[str]]:
    params = {"limit": str(limit), "cursor": cursor, **filters}
    return {k: v for k, v in params.items() if v is not None and v != []}


def list_dead(queue: str | None, limit: int, cursor: str | None) -> Call[Page]:
    params = _page_params(limit, cursor, queue=queue)
    return Call(
        "GET", "/dead", lambda c: msgspec.json.decode(c, type=Page), params=params, safe=True
    )


def events(job_id: str, limit: int, cursor: str | None) -> Call[EventPage]:
    path = f"/jobs/{quote(job_id, safe='')}/events"
    return Call("GET", path, _event_page, params=_page_params(limit, cursor), safe=True)


def requeue_dead(job_ids: Sequence[str] | None, queue: str | None) -> Call[int]:
    body = {"job_ids": None if job_ids is None else list(job_ids), "queue": queue}
    body = {k: v for k, v in body.items() if v is not None}
    return Call(
        "POST", "/dead/requeue", lambda c: msgspec.json.decode(c, type=_RequeueOut).requeued, body
    )


def cancel(job_id: str) -> Call[Job]:
    return Call("POST", f"/jobs/{quote(job_id, safe='')}/cancel", _one_job)


def cancel_many(job_ids: Iterable[str]) -> Call[list[BatchOutcome]]:
    """A cancel is safe to repeat: a second one of a cancelled job only answers 409."""
    return Call("POST", "/jobs/cancel", _outcomes, {"job_ids": list(job_ids)}, safe=True)


def stats() -> Call[dict[str, QueueStats]]:
    return Call("GET", "/stats", lambda c: msgspec.json.decode(c, type=_StatsOut).queues, safe=True)


def _queue_path(name: str) -> str:
    return f"/queues/{quote(name, safe='')}"


def _one_queue(content: bytes) -> Queue:
    return msgspec.json.decode(content, type=_QueueEnvelope).queue


def queues() -> Call[list[Queue]]:
    return Call(
        "GET", "/queues", lambda c: msgspec.json.decode(c, type=_QueuesOut).queues, safe=True
    )


def queue(name: str) -> Call[Queue]:
    return Call("GET", _queue_path(name), _one_queue, safe=True)


# Settings are set to values, not moved by amounts, so sending a change twice leaves the
# queue as sending it once: the writes below are safe to repeat.


def update_queue(name: str, patch: QueuePatch) -> Call[Queue]:
    return Call("PATCH", _queue_path(name), _one_queue, patch, safe=True)


def pause(name: str) -> Call[Queue]:
    return Call("POST", f"{_queue_path(name)}/pause", _one_queue, safe=True)


def resume(name: str) -> Call[Queue]:
    return Call("POST", f"{_queue_path(name)}/resume", _one_queue, safe=True)
