"""``create_app``: the Starlette application over a ``QueueService``, its route table and
its lifespan. ``leaseq.server.wiring.build_app`` builds the whole thing from ``Settings``."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

import msgspec
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from leaseq.core.tokens import Role, parse_tokens
from leaseq.dashboard import dashboard_routes
from leaseq.server.config import Settings
from leaseq.server.http import (
    apidocs,
    routes,
    schedule_routes,
    schedule_wire,
    wire,
    wire_find,
    wire_history,
    wire_moves,
    wire_poll,
    wire_queues,
)
from leaseq.server.http.errors import HANDLERS
from leaseq.server.http.guards import Handler, RateLimiter, limit_polls, require
from leaseq.server.http.middleware import RequestTimer
from leaseq.server.http.openapi import Endpoint, document
from leaseq.server.http.routes import Context, RouteHandler
from leaseq.server.http.sameorigin import CrossSiteGuard, SitePolicy
from leaseq.server.reaper import Reaper
from leaseq.server.service import QueueService

_JOB = {200: wire.JobEnvelope}
_ONE_OR_MANY = (wire.JobEnvelope, wire.JobsEnvelope)
_ONE_OR_BATCH = {200: (wire.JobEnvelope, wire.BatchOut)}
_SCHEDULE = schedule_wire.ScheduleEnvelope
_QUEUE = {200: wire_queues.QueueEnvelope}
_NAMED = wire_queues.QueuePath
ENDPOINTS: list[tuple[Endpoint, RouteHandler]] = [
    (Endpoint("POST", "/enqueue", "Enqueue one job or a batch (all or nothing)",
              (wire.JobSpecIn, wire.EnqueueBatchIn),
              responses={201: _ONE_OR_MANY, 200: _ONE_OR_MANY}, role=Role.PRODUCER),
     routes.enqueue),
    (Endpoint("POST", "/poll", "Lease ready jobs, optionally waiting for one", (wire.PollIn,),
              responses={200: wire_poll.LeasedJobsEnvelope}, role=Role.WORKER), routes.poll),
    (Endpoint("POST", "/ack", "Complete leased jobs (DONE)", (wire.AckIn, wire.AckBatchIn),
              responses=_ONE_OR_BATCH, role=Role.WORKER), routes.ack),
    (Endpoint("POST", "/fail", "Fail a leased job: retry with backoff, or DEAD",
              (wire_moves.FailIn,), responses=_JOB, role=Role.WORKER), routes.fail),
    (Endpoint("POST", "/heartbeat", "Extend one lease, or a batch of them",
              (wire_moves.HeartbeatIn, wire_moves.HeartbeatBatchIn), responses=_ONE_OR_BATCH,
              role=Role.WORKER), routes.heartbeat),
    (Endpoint("POST", "/release", "Hand a leased job back, the attempt not counted",
              (wire_moves.ReleaseIn,), responses=_JOB, role=Role.WORKER), routes.release),
    (Endpoint("GET", "/dead", "List the dead letter queue", query=wire.DeadQuery,
              responses={200: wire.PageOut}), routes.list_dead),
    (Endpoint("POST", "/dead/requeue", "Requeue DEAD jobs by id or by queue",
              (wire.RequeueIn,), responses={200: wire.RequeueOut}, role=Role.ADMIN),
     routes.requeue_dead),
    (Endpoint("GET", "/jobs", "List jobs, newest first: by state, queue, task, tags",
              query=wire_find.JobsQuery,
              responses={200: wire.PageOut}), routes.list_jobs),
    (Endpoint("GET", "/jobs/{job_id}", "One job; with `wait`, once it is DONE, DEAD or"
              " CANCELLED or the wait is over", query=wire_find.JobQuery, responses=_JOB),
     routes.get_job),
    (Endpoint("GET", "/jobs/{job_id}/events", "A job's history, oldest first, by pages",
              query=wire.EventsQuery, responses={200: wire.EventsOut}), routes.job_events),
    (Endpoint("GET", "/workers", "Workers seen recently, with the jobs they hold",
              query=wire.WorkersQuery, responses={200: wire.WorkersOut}), routes.workers),
    (Endpoint("GET", "/dead/groups", "DEAD jobs of a queue grouped by last error",
              query=wire.DeadGroupsQuery, responses={200: wire.DeadGroupsOut}),
     routes.dead_groups),
    (Endpoint("POST", "/jobs/{job_id}/cancel", "Cancel a QUEUED, LEASED or DEAD job (a LEASED"
              " one at once: its holder is answered 409 job_cancelled)", responses=_JOB,
              role=Role.ADMIN),
     routes.cancel_job),
    (Endpoint("POST", "/jobs/cancel", "Cancel jobs by id, each answered on its own",
              (wire_moves.CancelBatchIn,), responses={200: wire.BatchOut}, role=Role.ADMIN),
     routes.cancel_jobs),
    (Endpoint("GET", "/stats", "Job counts by queue and state",
              responses={200: wire.StatsOut}), routes.stats),
    (Endpoint("GET", "/stats/history", "This node's outcomes (done, failed, dead) per minute,"
              " for the last hour at most", query=wire_history.HistoryQuery,
              responses={200: wire_history.HistoryOut}), routes.stats_history),
    (Endpoint("GET", "/queues", "Every queue that has jobs or settings, by name",
              responses={200: wire_queues.QueuesOut}), routes.queues),
    (Endpoint("GET", "/queues/{name}", "One queue: its settings (defaults if never set)"
              " and job counts", path_params=_NAMED, responses=_QUEUE),
     routes.get_queue),
    (Endpoint("PATCH", "/queues/{name}", "Change a queue's settings: fields left out stay,"
              " null removes a limit", (wire_queues.QueuePatchIn,), path_params=_NAMED,
              responses=_QUEUE, role=Role.ADMIN), routes.update_queue),
    (Endpoint("POST", "/queues/{name}/pause", "Pause a queue: polls lease none of its jobs",
              path_params=_NAMED, responses=_QUEUE, role=Role.ADMIN),
     routes.pause_queue),
    (Endpoint("POST", "/queues/{name}/resume", "Resume a paused queue",
              path_params=_NAMED, responses=_QUEUE, role=Role.ADMIN),
     routes.resume_queue),
    (Endpoint("GET", "/health", "Liveness of the server and its store",
              responses={200: wire.HealthOut}, role=None), routes.health),
    (Endpoint("PUT", "/schedules/{name}", "Create or replace a schedule (history and pause kept)",
              (schedule_wire.ScheduleIn,), responses={201: _SCHEDULE, 200: _SCHEDULE},
              role=Role.ADMIN), schedule_routes.put_schedule),
    (Endpoint("GET", "/schedules", "Every schedule, by name",
              responses={200: schedule_wire.SchedulesOut}), schedule_routes.list_schedules),
    (Endpoint("GET", "/schedules/{name}", "One schedule", responses={200: _SCHEDULE}),
     schedule_routes.get_schedule),
    (Endpoint("DELETE", "/schedules/{name}", "Delete a schedule; answers it as it was",
              responses={200: _SCHEDULE}, role=Role.ADMIN), schedule_routes.delete_schedule),
    (Endpoint("POST", "/schedules/{name}/trigger", "Enqueue one run now, outside the slots",
              responses={201: wire.JobEnvelope}, role=Role.ADMIN),
     schedule_routes.trigger_schedule),
    (Endpoint("POST", "/schedules/{name}/pause", "Pause a schedule: its slots enqueue nothing",
              responses={200: _SCHEDULE}, role=Role.ADMIN), schedule_routes.pause_schedule),
    (Endpoint("POST", "/schedules/{name}/resume", "Resume; the slots missed are not replayed",
              responses={200: _SCHEDULE}, role=Role.ADMIN), schedule_routes.resume_schedule),
    (Endpoint("GET", "/schedules/{name}/runs", "The schedule's run history, newest first",
              query=schedule_wire.RunsQuery, responses={200: schedule_wire.ScheduleRunsOut}),
     schedule_routes.schedule_runs),
]  # fmt: skip


OPENAPI = msgspec.json.encode(document([e for e, _ in ENDPOINTS]))


def create_app(service: QueueService, settings: Settings) -> Starlette:
    """The app over explicit objects: every route calls ``service``; ``settings`` gives
    the tokens, the poll rate and the body limit. The lifespan opens the service's store
    and runs the reaper, and at shutdown stops both."""
    return Starlette(
        routes=_routes(Context(service, settings.max_body), settings),
        exception_handlers=HANDLERS,
        lifespan=_lifespan(service, Reaper(service)),
        middleware=[
            Middleware(RequestTimer, observe=service.observe_request),
            Middleware(CrossSiteGuard, policy=_site_policy(settings)),
        ],
    )


def _site_policy(settings: Settings) -> SitePolicy:
    return SitePolicy.of(settings.host, settings.allowed_hosts, settings.allow_origins)


def _lifespan(
    service: QueueService, reaper: Reaper
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await service.open()
        reaper.start()
        try:
            yield
        finally:
            service.stop_waiting()
            await reaper.stop()
            await service.close()

    return lifespan


def _routes(ctx: Context, settings: Settings) -> list[BaseRoute]:
    tokens = parse_tokens(settings.tokens)
    limiter = (
        RateLimiter(settings.poll_rate, 2 * settings.poll_rate) if settings.poll_rate else None
    )
    table: list[BaseRoute] = [
        Route(e.path, require(e.role, tokens, _limited(e, limiter, _bind(ctx, h))),
              methods=[e.method])
        for e, h in ENDPOINTS
    ]  # fmt: skip
    return [
        *table,
        Route("/metrics", require(Role.READ, tokens, _bind(ctx, routes.metrics)),
              include_in_schema=False),
        # The description is a read like the others; /docs is a static page (apidocs).
        Route("/openapi.json", require(Role.READ, tokens, _openapi_json),
              include_in_schema=False),
        Route("/docs", _docs, methods=["GET"], include_in_schema=False),
        *apidocs.asset_routes(),
        *dashboard_routes(),
    ]  # fmt: skip


def _bind(ctx: Context, handler: RouteHandler) -> Handler:
    async def bound(request: Request) -> Response:
        return await handler(ctx, request)

    return bound


def _limited(endpoint: Endpoint, limiter: RateLimiter | None, handler: Handler) -> Handler:
    return limit_polls(limiter, handler) if endpoint.path == "/poll" else handler


async def _openapi_json(_: Request) -> Response:
    return Response(OPENAPI, media_type="application/json")


async def _docs(_: Request) -> Response:
    # Everything /docs loads is served from the package (Swagger UI vendored), so it
    # gets a script policy too; Swagger UI sets inline styles, hence 'unsafe-inline' there.
    return apidocs.page(headers=DOCS_HEADERS)


DOCS_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline';"
        " img-src 'self' data:; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
}
