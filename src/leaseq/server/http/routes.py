"""Route handlers: parse, call one service method, serialise. Nothing else.

Each handler makes one pass: ``decode`` turns the bytes into what the service takes (a
domain value, or a validated Struct whose fields are the arguments), one ``QueueService``
call, then ``encode`` turns its answer into the response. Handlers get their
dependencies from a typed ``Context``, never from ``app.state``, and call the service,
never its parts.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from leaseq.core.model import JobState
from leaseq.core.queues import QueueChange
from leaseq.server.http import (
    decode,
    encode,
    wire,
    wire_find,
    wire_history,
    wire_moves,
    wire_queues,
)
from leaseq.server.http.guards import read_body
from leaseq.server.observe import METRICS_TYPE
from leaseq.server.service import QueueService


@dataclass(frozen=True, slots=True)
class Context:
    """What a handler may use, built once by ``create_app``."""

    service: QueueService
    max_body: int
    """Bytes a request body may hold (``Settings.max_body``)."""

    async def body(self, request: Request) -> bytes:
        return await read_body(request, self.max_body)


RouteHandler = Callable[[Context, Request], Awaitable[Response]]


async def enqueue(ctx: Context, request: Request) -> Response:
    raw = await ctx.body(request)
    specs, batch = decode.one_or_batch(raw, "jobs", wire.JobSpecIn, wire.EnqueueBatchIn)
    return encode.enqueued(await ctx.service.enqueue(specs), batch)


async def poll(ctx: Context, request: Request) -> Response:
    req = decode.decode(await ctx.body(request), wire.PollIn)
    acks = [a.to_ack() for a in req.acks]
    args = (acks, req.worker_id, req.queues, req.max_jobs, req.lease_seconds)
    if req.wait <= 0:
        outcomes, jobs = await ctx.service.ack_and_poll(*args, concurrency=req.concurrency)
    else:
        async with _disconnect(request) as gone:
            outcomes, jobs = await ctx.service.ack_and_poll(
                *args, req.wait, gone, concurrency=req.concurrency
            )
    return encode.leased(jobs, (outcomes, [a.job_id for a in acks]) if req.acks else None)


@contextlib.asynccontextmanager
async def _disconnect(request: Request) -> AsyncIterator[asyncio.Future[None]]:
    """A future that completes when the client goes away during a long poll."""
    gone: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    watcher = asyncio.create_task(_watch_disconnect(request, gone))
    try:
        yield gone
    finally:
        watcher.cancel()


async def _watch_disconnect(request: Request, gone: asyncio.Future[None]) -> None:
    """The body is already read, so the next ASGI message can only be the disconnect."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
    gone.set_result(None)


async def ack(ctx: Context, request: Request) -> Response:
    raw = await ctx.body(request)
    acks, batch = decode.one_or_batch(raw, "acks", wire.AckIn, wire.AckBatchIn)
    answers = await ctx.service.ack(acks)
    return encode.outcomes(answers, [a.job_id for a in acks], batch)


async def fail(ctx: Context, request: Request) -> Response:
    req = decode.decode(await ctx.body(request), wire_moves.FailIn)
    job = await ctx.service.fail(
        req.job_id,
        req.lease_token,
        req.error,
        req.retry,
        error_type=req.error_type,
        error_message=req.error_message,
        checkpoint=req.checkpoint_text(),
    )
    return encode.job(job)


async def heartbeat(ctx: Context, request: Request) -> Response:
    raw = await ctx.body(request)
    renewal, batch = decode.one_or_batch(
        raw, "heartbeats", wire_moves.HeartbeatIn, wire_moves.HeartbeatBatchIn
    )
    answers = await ctx.service.heartbeat(renewal)
    return encode.outcomes(answers, [lease.job_id for lease in renewal.leases], batch)


async def release(ctx: Context, request: Request) -> Response:
    req = decode.decode(await ctx.body(request), wire_moves.ReleaseIn)
    return encode.job(await ctx.service.release(req.job_id, req.lease_token))


async def list_dead(ctx: Context, request: Request) -> Response:
    q = decode.query(request.query_params, wire.DeadQuery)
    return encode.page(await ctx.service.list_jobs(JobState.DEAD, q.queue, q.limit, q.cursor))


async def requeue_dead(ctx: Context, request: Request) -> Response:
    req = decode.decode(await ctx.body(request), wire.RequeueIn)
    return encode.requeued(await ctx.service.requeue_dead(req.job_ids, req.queue))


async def list_jobs(ctx: Context, request: Request) -> Response:
    q = decode.query(request.query_params, wire_find.JobsQuery)
    found = await ctx.service.list_jobs(q.state, q.queue, q.limit, q.cursor, q.to_filter())
    return encode.page(found)


async def get_job(ctx: Context, request: Request) -> Response:
    q = decode.query(request.query_params, wire_find.JobQuery)
    return encode.job(await ctx.service.get(request.path_params["job_id"], q.wait))


async def cancel_job(ctx: Context, request: Request) -> Response:
    job_id = request.path_params["job_id"]
    return encode.outcomes(await ctx.service.cancel([job_id]), [job_id], batch=False)


async def cancel_jobs(ctx: Context, request: Request) -> Response:
    req = decode.decode(await ctx.body(request), wire_moves.CancelBatchIn)
    return encode.outcomes(await ctx.service.cancel(req.job_ids), req.job_ids, batch=True)


async def job_events(ctx: Context, request: Request) -> Response:
    q = decode.query(request.query_params, wire.EventsQuery)
    job_id = request.path_params["job_id"]
    return encode.events(await ctx.service.events(job_id, q.limit, q.cursor))


async def workers(ctx: Context, request: Request) -> Response:
    q = decode.query(request.query_params, wire.WorkersQuery)
    return encode.workers(await ctx.service.workers(q.within, q.limit))


async def dead_groups(ctx: Context, request: Request) -> Response:
    q = decode.query(request.query_params, wire.DeadGroupsQuery)
    return encode.dead_groups(await ctx.service.dead_groups(q.queue, q.groups, q.ids))


async def queues(ctx: Context, _: Request) -> Response:
    return encode.queues(await ctx.service.queues())


def _queue_name(request: Request) -> str:
    return decode.query(request.path_params, wire_queues.QueuePath).name


async def get_queue(ctx: Context, request: Request) -> Response:
    return encode.queue(await ctx.service.queue(_queue_name(request)))


async def update_queue(ctx: Context, request: Request) -> Response:
    name = _queue_name(request)
    change = decode.decode(await ctx.body(request), wire_queues.QueuePatchIn).to_domain()
    return encode.queue(await ctx.service.update_queue(name, change))


async def pause_queue(ctx: Context, request: Request) -> Response:
    name = _queue_name(request)
    return encode.queue(await ctx.service.update_queue(name, QueueChange(paused=True)))


async def resume_queue(ctx: Context, request: Request) -> Response:
    name = _queue_name(request)
    return encode.queue(await ctx.service.update_queue(name, QueueChange(paused=False)))


async def metrics(ctx: Context, _: Request) -> Response:
    """Prometheus text format; store-derived gauges are refreshed on each scrape."""
    return Response(await ctx.service.metrics(), media_type=METRICS_TYPE)


async def stats(ctx: Context, _: Request) -> Response:
    return encode.stats(await ctx.service.stats())


async def stats_history(ctx: Context, request: Request) -> Response:
    q = decode.query(request.query_params, wire_history.HistoryQuery)
    return encode.history(ctx.service.history(q.minutes))


async def health(ctx: Context, _: Request) -> Response:
    """503 ``storage_unavailable`` (raised by the service) when the store does not answer."""
    return encode.health(await ctx.service.health())
