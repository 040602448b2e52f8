"""Running one job: read its call, run its task, and turn what happened into an ``Outcome``.

Kept apart from the worker's loops (``leaseq.client.worker``), which only decide when to
poll, beat and report: everything here is about a single job and does no HTTP.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import traceback
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from typing import Any

import msgspec

from leaseq.client.context import RunningJob
from leaseq.client.models import Job
from leaseq.client.tasks import App, Invocation, Permanent
from leaseq.core import limits

MAX_ERROR_CHARS = 60_000
"""Under ``limits.MAX_ERROR_CHARS`` with room to spare; a longer traceback keeps its end,
where the cause is."""
MAX_SUMMARY_CHARS = 500
"""The one line a failure gets in the worker's log: the exception's type and message."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What to report: ``result`` (JSON, already encoded) on success, else ``error`` (the
    traceback the job keeps) and ``summary`` (``Type: message``, for the worker's log)."""

    result: msgspec.Raw | None = None
    error: str | None = None
    retry: bool = True
    summary: str | None = None
    error_type: str | None = None
    """The exception's class name, sent apart from the traceback (dead letters group by
    it and ``error_message``); None when no exception was raised in the task."""
    error_message: str | None = None


class Refused(Permanent):
    """The worker itself cannot run the job (unknown task, malformed payload): the
    message alone says it all, a traceback of the worker's internals would not help."""


class Unencodable(TypeError):
    """The task returned something JSON cannot hold: running it again will not help."""


def invocation_of(job: Job) -> Invocation:
    """Reads ``{"args": [...], "kwargs": {...}}``; any other shape can never succeed."""
    payload = job.payload if job.payload is not None else {}
    if not isinstance(payload, dict) or set(payload) - {"args", "kwargs"}:
        raise Refused('the payload must be an object {"args": [...], "kwargs": {...}}')
    args, kwargs = payload.get("args", []), payload.get("kwargs", {})
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise Refused('"args" must be a list and "kwargs" an object')
    return Invocation(tuple(args), kwargs)


def summary_of(exc: BaseException) -> str:
    """``ValueError: kaput``, on one line: what an operator reads first in a log."""
    message = " ".join(str(exc).split())
    text = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
    return text[:MAX_SUMMARY_CHARS]


def failed(exc: BaseException, retry: bool = True) -> Outcome:
    text = "".join(traceback.format_exception(exc))[-MAX_ERROR_CHARS:]
    return Outcome(
        error=text,
        retry=retry,
        summary=summary_of(exc),
        error_type=type(exc).__name__[: limits.MAX_ERROR_TYPE_CHARS],
        error_message=str(exc)[: limits.MAX_ERROR_MESSAGE_CHARS],
    )


def encode_result(value: Any) -> msgspec.Raw:
    try:
        return msgspec.Raw(msgspec.json.encode(value))
    except (TypeError, msgspec.EncodeError) as exc:
        raise Unencodable(f"the task's return value is not JSON: {exc}") from exc


def log_outcome(log: logging.Logger, job: Job, outcome: Outcome, elapsed: float) -> None:
    """A success is a debug line (``-v``); a failure is one warning line with the
    exception, and its traceback below it at ``-v``."""
    where = f"task={job.task} attempt={job.attempts}/{job.max_tries} in {elapsed:.3f}s"
    if outcome.error is None:
        log.debug("job %s done %s", job.id, where)
        return
    fate = "retried" if outcome.retry and job.attempts < job.max_tries else "DEAD"
    log.warning("job %s failed %s (%s): %s", job.id, where, fate, outcome.summary)
    if outcome.summary != outcome.error:
        log.debug("job %s traceback:\n%s", job.id, (outcome.error or "").rstrip())


async def execute(
    app: App, job: Job, pool: Executor, running: RunningJob, threads: list[Future[Any]]
) -> Outcome:
    """Runs the job's task as ``running`` (its ``current_job()``): plain functions in
    ``pool`` (their thread's future appended to ``threads``, so a worker that stops
    waiting for one knows it still runs), ``async def`` ones on this loop."""
    task = app.tasks.get(job.task or "")
    try:
        if task is None:
            known = ", ".join(sorted(app.tasks)) or "none"
            raise Refused(f"unknown task {job.task!r}; this worker knows: {known}")
        call = invocation_of(job)
        running.enter()  # this runner's own context: no other job sees it
        if task.is_async:
            value = await task.fn(*call.args, **call.kwargs)
        else:
            # In the context of this coroutine (the attempt's span, ``tracing``, and its
            # ``current_job()``): an executor's thread would otherwise run it in an empty one.
            fn = functools.partial(task.fn, *call.args, **call.kwargs)
            thread = pool.submit(contextvars.copy_context().run, fn)
            threads.append(thread)
            value = await asyncio.wrap_future(thread)
        return Outcome(result=encode_result(value))
    except Refused as exc:
        return Outcome(error=str(exc), retry=False, summary=str(exc))
    except Permanent as exc:
        return failed(exc, retry=False)
    except Exception as exc:
        return failed(exc, retry=not isinstance(exc, Unencodable))
