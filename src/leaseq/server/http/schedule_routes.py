"""Route handlers of ``/schedules``: parse, call one service method, serialise.

The name in the path is checked here, before the body, with the same rule as everywhere
(``limits.SCHEDULE_NAME_PATTERN``), so a bad name is a 422 that names ``name`` on every
schedule route, and nothing is looked up or changed.
"""

from __future__ import annotations

import re
from typing import Protocol, cast

from starlette.requests import Request
from starlette.responses import Response

from leaseq.core import limits
from leaseq.core.model import JobRecord
from leaseq.core.schedules import ScheduleRecord, ScheduleRun, ScheduleSpec
from leaseq.errors import InvalidRequest
from leaseq.server.http import decode, encode, wire
from leaseq.server.http.routes import Context
from leaseq.server.http.schedule_wire import (
    RunsQuery,
    ScheduleEnvelope,
    ScheduleIn,
    SchedulesOut,
    runs_out,
    schedule_out,
)

_NAME = re.compile(limits.SCHEDULE_NAME_PATTERN)


class Schedules(Protocol):
    """The ``QueueService`` methods these routes call; each raises ``ScheduleNotFound``
    (404 ``schedule_not_found``) for a name that has no schedule."""

    async def put_schedule(self, spec: ScheduleSpec) -> tuple[ScheduleRecord, bool]: ...
    async def schedules(self) -> list[ScheduleRecord]: ...
    async def schedule(self, name: str) -> ScheduleRecord: ...
    async def delete_schedule(self, name: str) -> ScheduleRecord: ...
    async def trigger_schedule(self, name: str) -> JobRecord: ...
    async def pause_schedule(self, name: str) -> ScheduleRecord: ...
    async def resume_schedule(self, name: str) -> ScheduleRecord: ...
    async def schedule_runs(self, name: str, limit: int) -> list[ScheduleRun]: ...


def _service(ctx: Context) -> Schedules:
    return cast(Schedules, ctx.service)


def _name(request: Request) -> str:
    name: str = request.path_params["name"]
    if not _NAME.match(name):
        raise InvalidRequest(
            f"name: {name!r} is not a schedule name "
            f"(1-{limits.MAX_SCHEDULE_NAME_CHARS} of A-Z a-z 0-9 _ . : -)"
        )
    return name


def _one(record: ScheduleRecord, status: int = 200) -> Response:
    return encode.json_response(ScheduleEnvelope(schedule_out(record)), status)


async def put_schedule(ctx: Context, request: Request) -> Response:
    """201 when it created the schedule, 200 when it replaced one (history kept)."""
    name = _name(request)
    spec = decode.decode(await ctx.body(request), ScheduleIn).to_spec(name)
    record, created = await _service(ctx).put_schedule(spec)
    return _one(record, 201 if created else 200)


async def list_schedules(ctx: Context, _: Request) -> Response:
    records = await _service(ctx).schedules()
    return encode.json_response(SchedulesOut([schedule_out(r) for r in records]))


async def get_schedule(ctx: Context, request: Request) -> Response:
    return _one(await _service(ctx).schedule(_name(request)))


async def delete_schedule(ctx: Context, request: Request) -> Response:
    """Answers the schedule as it was; its jobs already enqueued stay."""
    return _one(await _service(ctx).delete_schedule(_name(request)))


async def trigger_schedule(ctx: Context, request: Request) -> Response:
    job = await _service(ctx).trigger_schedule(_name(request))
    return encode.json_response(wire.JobEnvelope(encode.job_out(job)), 201)


async def pause_schedule(ctx: Context, request: Request) -> Response:
    return _one(await _service(ctx).pause_schedule(_name(request)))


async def resume_schedule(ctx: Context, request: Request) -> Response:
    return _one(await _service(ctx).resume_schedule(_name(request)))


async def schedule_runs(ctx: Context, request: Request) -> Response:
    """The run history, newest first: which slots were taken, when, and what came of each."""
    name = _name(request)
    query = decode.query(request.query_params, RunsQuery)
    return encode.json_response(runs_out(await _service(ctx).schedule_runs(name, query.limit)))
