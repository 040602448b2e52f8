"""The schedule endpoints, described once (sans-I/O), as ``calls`` describes the rest;
apart so that neither module passes its size budget."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import msgspec

from leaseq.client.calls import Call, _one_job
from leaseq.client.models import Job, JobSpec, Schedule, ScheduleRun
from leaseq.errors import InvalidRequest


class _ScheduleEnvelope(msgspec.Struct):
    schedule: Schedule


class _SchedulesOut(msgspec.Struct):
    schedules: list[Schedule]


class _RunsOut(msgspec.Struct):
    runs: list[ScheduleRun]


def cadence(cron: str | None, every: float | None, timezone: str = "UTC") -> dict[str, Any]:
    """The cadence part of a schedule's body: exactly one of ``cron`` (with its time zone)
    and ``every``; the server answers a 422 naming the field for anything else."""
    if (cron is None) == (every is None):
        raise InvalidRequest("give exactly one of `cron` or `every`")
    if cron is not None:
        return {"cron": cron, "timezone": timezone}
    return {"every": every, "timezone": timezone}


def _one_schedule(content: bytes) -> Schedule:
    return msgspec.json.decode(content, type=_ScheduleEnvelope).schedule


def _schedule_path(name: str, action: str = "") -> str:
    return f"/schedules/{quote(name, safe='')}{action}"


def put_schedule(
    name: str,
    cadence: dict[str, Any],
    job: JobSpec,
    paused: bool | None,
    overlap: str,
) -> Call[Schedule]:
    """``cadence`` is ``{"cron": ..., "timezone": ...}`` or ``{"every": ...}``. ``paused``
    None is left out, so a replaced schedule keeps its pause. A PUT says the whole
    schedule, so repeating it is harmless: safe."""
    body: dict[str, Any] = {**cadence, "job": job, "overlap": overlap}
    if paused is not None:
        body["paused"] = paused
    return Call("PUT", _schedule_path(name), _one_schedule, body, safe=True)


def schedules() -> Call[list[Schedule]]:
    parse = lambda c: msgspec.json.decode(c, type=_SchedulesOut).schedules  # noqa: E731
    return Call("GET", "/schedules", parse, safe=True)


def schedule(name: str) -> Call[Schedule]:
    return Call("GET", _schedule_path(name), _one_schedule, safe=True)


def delete_schedule(name: str) -> Call[Schedule]:
    return Call("DELETE", _schedule_path(name), _one_schedule)


def trigger_schedule(name: str) -> Call[Job]:
    return Call("POST", _schedule_path(name, "/trigger"), _one_job)


def pause_schedule(name: str) -> Call[Schedule]:
    return Call("POST", _schedule_path(name, "/pause"), _one_schedule, safe=True)


def resume_schedule(name: str) -> Call[Schedule]:
    return Call("POST", _schedule_path(name, "/resume"), _one_schedule, safe=True)


def schedule_runs(name: str, limit: int) -> Call[list[ScheduleRun]]:
    parse = lambda c: msgspec.json.decode(c, type=_RunsOut).runs  # noqa: E731
    return Call(
        "GET", _schedule_path(name, "/runs"), parse, params={"limit": str(limit)}, safe=True
    )
