"""Route handlers: parse, call one service method, serialise. Nothing else."""

from __future__ import annotations

import asyncio
from typing import Any, TypeVar

import msgspec
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.requests import Request
from starlette.responses import Response

from leaseq import __version__
from leaseq.core.commands import Ack
from leaseq.core.model import JobRecord, JobState
from leaseq.errors import InvalidRequest, LeaseqError, PayloadTooLarge, StorageUnavailable
from leaseq.server.http import decode, wire
from leaseq.server.http.errors import error_response, status_of
from leaseq.server.service import QueueService

S = TypeVar("S", bound=msgspec.Struct)

HEALTH_TIMEOUT_S = 2.0
KNOWN_WORKER_WINDOW_S = 300.0


def _json(value: Any, status: int = 200) -> Response:
    return Response(msgspec.json.encode(value), status_code=status, media_type="application/json")


def _service(request: Request) -> QueueService:
    service: QueueService = request.app.state.service
    return service


async def _body(request: Request) -> bytes:
    limit: int = request.app.state.settings.max_body
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"the body is {declared} bytes; the limit is {limit}")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"the body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


async def _object(request: Request) -> dict[str, Any]:
    value = msgspec.json.decode(await _body(request))
    if not isinstance(value, dict):
        raise InvalidRequest("the body must be a JSON object")
    return value


async def _parse(request: Request, kind: type[S]) -> S:
    return decode.decode(await _body(request), kind)


def _query(request: Request, kind: type[S]) -> S:
    return msgspec.convert(dict(request.query_params), kind, strict=False)


async def enqueue(request: Request) -> Response:
    body = await _object(request)
    if "jobs" in body:
        batch = decode.convert(body, wire.EnqueueBatchIn)
        results = await _service(request).enqueue([s.to_spec() for s in batch.jobs])
        created = any(new for _, new in results)
        out = wire.JobsEnvelope([wire.job_out(job) for job, _ in results])
        return _json(out, 201 if created else 200)
    spec = decode.convert(body, wire.JobSpecIn)
    ((job, new),) = await _service(request).enqueue([spec.to_spec()])
    return _json(wire.JobEnvelope(wire.job_out(job)), 201 if new else 200)


async def poll(request: Request) -> Response:
    req = await _parse(request, wire.PollIn)
    service = _service(request)
    if req.wait <= 0:
        jobs = await service.poll(req.worker_id, req.queues, req.max_jobs, req.lease_seconds)
    else:
        gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        watcher = asyncio.create_task(_watch_disconnect(request, gone))
        try:
            jobs = await service.poll(
                req.worker_id, req.queues, req.max_jobs, req.lease_seconds, req.wait, gone
            )
        finally:
            watcher.cancel()
    return _json(wire.LeasedJobsEnvelope([wire.leased_job_out(j) for j in jobs]))


async def _watch_disconnect(request: Request, gone: asyncio.Future[None]) -> None:
    """The body is already read, so the next ASGI message can only be the disconnect."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
    gone.set_result(None)


def _ack_item(a: wire.AckIn) -> Ack:
    result = None if a.result is None else msgspec.json.encode(a.result).decode()
    return Ack(a.job_id, a.lease_token, result)


async def ack(request: Request) -> Response:
    body = await _object(request)
    if "acks" in body:
        batch = decode.convert(body, wire.AckBatchIn)
        outcomes = await _service(request).ack([_ack_item(a) for a in batch.acks])
        return _json(
            wire.BatchOut(
                [_item_result(o, a.job_id) for o, a in zip(outcomes, batch.acks, strict=True)]
            )
        )
    single = decode.convert(body, wire.AckIn)
    (outcome,) = await _service(request).ack([_ack_item(single)])
    if isinstance(outcome, LeaseqError):
        raise outcome
    return _json(wire.JobEnvelope(wire.job_out(outcome)))


def _item_result(outcome: JobRecord | LeaseqError, job_id: str) -> wire.ItemResult:
    if isinstance(outcome, LeaseqError):
        return wire.ItemResult(
            job_id, status_of(outcome), error=wire.ErrorBody(outcome.code, outcome.message)
        )
    return wire.ItemResult(job_id, 200, job=wire.job_out(outcome))


async def fail(request: Request) -> Response:
    req = await _parse(request, wire.FailIn)
    job = await _service(request).fail(req.job_id, req.lease_token, req.error, req.retry)
    return _json(wire.JobEnvelope(wire.job_out(job)))


async def heartbeat(request: Request) -> Response:
    body = await _object(request)
    service = _service(request)
    if "heartbeats" in body:
        batch = decode.convert(body, wire.HeartbeatBatchIn)
        leases = [(h.job_id, h.lease_token) for h in batch.heartbeats]
        outcomes = await service.heartbeat_many(leases, batch.lease_seconds)
        results = [_item_result(o, j) for o, (j, _) in zip(outcomes, leases, strict=True)]
        return _json(wire.BatchOut(results))
    req = decode.convert(body, wire.HeartbeatIn)
    job = await service.heartbeat(req.job_id, req.lease_token, req.lease_seconds)
    return _json(wire.JobEnvelope(wire.job_out(job)))


async def release(request: Request) -> Response:
    req = await _parse(request, wire.ReleaseIn)
    job = await _service(request).release(req.job_id, req.lease_token)
    return _json(wire.JobEnvelope(wire.job_out(job)))


async def list_dead(request: Request) -> Response:
    q = _query(request, wire.DeadQuery)
    page = await _service(request).list_jobs(JobState.DEAD, q.queue, q.limit, q.cursor)
    return _json(wire.PageOut([wire.job_out(j) for j in page.jobs], page.next_cursor))


async def requeue_dead(request: Request) -> Response:
    req = await _parse(request, wire.RequeueIn)
    count = await _service(request).requeue_dead(req.job_ids, req.queue)
    return _json(wire.RequeueOut(count))


async def list_jobs(request: Request) -> Response:
    q = _query(request, wire.JobsQuery)
    page = await _service(request).list_jobs(q.state, q.queue, q.limit, q.cursor)
    return _json(wire.PageOut([wire.job_out(j) for j in page.jobs], page.next_cursor))


async def get_job(request: Request) -> Response:
    job = await _service(request).get(request.path_params["job_id"])
    return _json(wire.JobEnvelope(wire.job_out(job)))


async def cancel_job(request: Request) -> Response:
    job = await _service(request).cancel(request.path_params["job_id"])
    return _json(wire.JobEnvelope(wire.job_out(job)))


async def job_events(request: Request) -> Response:
    q = _query(request, wire.EventsQuery)
    page = await _service(request).events(request.path_params["job_id"], q.limit, q.cursor)
    return _json(wire.events_out(page))


async def workers(request: Request) -> Response:
    q = _query(request, wire.WorkersQuery)
    return _json(wire.workers_out(await _service(request).workers(q.within, q.limit)))


async def dead_groups(request: Request) -> Response:
    q = _query(request, wire.DeadGroupsQuery)
    groups = await _service(request).dead_groups(q.queue, q.groups, q.ids)
    return _json(wire.dead_groups_out(groups))


async def metrics(request: Request) -> Response:
    """Prometheus text format; store-derived gauges are refreshed on each scrape."""
    service = _service(request)
    known = await service.count_workers(KNOWN_WORKER_WINDOW_S)
    service.observer.set_store_gauges(await service.stats(), known)
    return Response(generate_latest(service.observer.registry), media_type=CONTENT_TYPE_LATEST)


async def stats(request: Request) -> Response:
    return _json(wire.stats_out(await _service(request).stats()))


async def health(request: Request) -> Response:
    service = _service(request)
    try:
        await asyncio.wait_for(service.storage.ping(), HEALTH_TIMEOUT_S)
    except (TimeoutError, StorageUnavailable) as exc:
        return error_response(503, "storage_unavailable", f"the store does not answer: {exc}")
    kind = type(service.storage).__name__.removesuffix("Storage").lower()
    return _json(wire.HealthOut("ok", kind, __version__))
