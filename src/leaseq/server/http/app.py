"""``create_app``: the Starlette application, its route table and its lifespan."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import msgspec
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import BaseRoute, Route

from leaseq.core.tokens import Role, parse_tokens
from leaseq.dashboard import dashboard_routes
from leaseq.server.config import Settings
from leaseq.server.http import routes, wire
from leaseq.server.http.errors import HANDLERS
from leaseq.server.http.guards import Handler, RateLimiter, limit_polls, require
from leaseq.server.http.middleware import RequestTimer
from leaseq.server.http.openapi import SWAGGER_HTML, Endpoint, document
from leaseq.server.reaper import Reaper
from leaseq.server.service import QueueService
from leaseq.server.storage import Storage, open_storage

_JOB = {200: wire.JobEnvelope}
_ONE_OR_MANY = (wire.JobEnvelope, wire.JobsEnvelope)
_ONE_OR_BATCH = {200: (wire.JobEnvelope, wire.BatchOut)}
ENDPOINTS: list[tuple[Endpoint, Handler]] = [
    (Endpoint("POST", "/enqueue", "Enqueue one job or a batch (all or nothing)",
              (wire.JobSpecIn, wire.EnqueueBatchIn),
              responses={201: _ONE_OR_MANY, 200: _ONE_OR_MANY}, role=Role.PRODUCER),
     routes.enqueue),
    (Endpoint("POST", "/poll", "Lease ready jobs, optionally waiting for one", (wire.PollIn,),
              responses={200: wire.LeasedJobsEnvelope}, role=Role.WORKER), routes.poll),
    (Endpoint("POST", "/ack", "Complete leased jobs (DONE)", (wire.AckIn, wire.AckBatchIn),
              responses=_ONE_OR_BATCH, role=Role.WORKER), routes.ack),
    (Endpoint("POST", "/fail", "Fail a leased job: retry with backoff, or DEAD",
              (wire.FailIn,), responses=_JOB, role=Role.WORKER), routes.fail),
    (Endpoint("POST", "/heartbeat", "Extend one lease, or a batch of them",
              (wire.HeartbeatIn, wire.HeartbeatBatchIn), responses=_ONE_OR_BATCH,
              role=Role.WORKER), routes.heartbeat),
    (Endpoint("POST", "/release", "Hand a leased job back, the attempt not counted",
              (wire.ReleaseIn,), responses=_JOB, role=Role.WORKER), routes.release),
    (Endpoint("GET", "/dead", "List the dead letter queue", query=wire.DeadQuery,
              responses={200: wire.PageOut}), routes.list_dead),
    (Endpoint("POST", "/dead/requeue", "Requeue DEAD jobs by id or by queue",
              (wire.RequeueIn,), responses={200: wire.RequeueOut}, role=Role.ADMIN),
     routes.requeue_dead),
    (Endpoint("GET", "/jobs", "List jobs, newest first", query=wire.JobsQuery,
              responses={200: wire.PageOut}), routes.list_jobs),
    (Endpoint("GET", "/jobs/{job_id}", "One job", responses=_JOB), routes.get_job),
    (Endpoint("GET", "/jobs/{job_id}/events", "A job's history, oldest first, by pages",
              query=wire.EventsQuery, responses={200: wire.EventsOut}), routes.job_events),
    (Endpoint("GET", "/workers", "Workers seen recently, with the jobs they hold",
              query=wire.WorkersQuery, responses={200: wire.WorkersOut}), routes.workers),
    (Endpoint("GET", "/dead/groups", "DEAD jobs of a queue grouped by last error",
              query=wire.DeadGroupsQuery, responses={200: wire.DeadGroupsOut}),
     routes.dead_groups),
    (Endpoint("POST", "/jobs/{job_id}/cancel", "Cancel a QUEUED or DEAD job", responses=_JOB,
              role=Role.ADMIN),
     routes.cancel_job),
    (Endpoint("GET", "/stats", "Job counts by queue and state",
              responses={200: wire.StatsOut}), routes.stats),
    (Endpoint("GET", "/health", "Liveness of the server and its store",
              responses={200: wire.HealthOut}, role=None), routes.health),
]  # fmt: skip


def _limited(endpoint: Endpoint, limiter: RateLimiter | None, handler: Handler) -> Handler:
    return limit_polls(limiter, handler) if endpoint.path == "/poll" else handler


def create_app(settings: Settings, storage: Storage | None = None) -> Starlette:
    """Builds the app; the store is opened and closed by the lifespan."""
    store = storage or open_storage(settings.db, durability=settings.durability)
    service = QueueService(store, settings)
    reaper = Reaper(service)
    openapi = msgspec.json.encode(document([e for e, _ in ENDPOINTS]))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        await store.open()
        reaper.start()
        try:
            yield
        finally:
            service.notifier.close()
            await reaper.stop()
            await store.close()

    async def openapi_json(_: Request) -> Response:
        return Response(openapi, media_type="application/json")

    async def docs(_: Request) -> Response:
        return HTMLResponse(SWAGGER_HTML)

    tokens = parse_tokens(settings.tokens)
    limiter = (
        RateLimiter(settings.poll_rate, 2 * settings.poll_rate) if settings.poll_rate else None
    )
    app_routes: list[BaseRoute] = [
        Route(e.path, require(e.role, tokens, _limited(e, limiter, h)), methods=[e.method])
        for e, h in ENDPOINTS
    ]
    app_routes += [
        Route("/metrics", require(Role.READ, tokens, routes.metrics), include_in_schema=False),
        Route("/openapi.json", openapi_json, include_in_schema=False),
        Route("/docs", docs, include_in_schema=False),
        *dashboard_routes(),
    ]
    app = Starlette(
        routes=app_routes,
        exception_handlers=HANDLERS,
        lifespan=lifespan,
        middleware=[Middleware(RequestTimer, histogram=service.observer.http)],
    )
    app.state.settings = settings
    app.state.service = service
    app.state.reaper = reaper
    return app
