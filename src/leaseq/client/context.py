"""``leaseq.current_job()``: what a running task knows of its job, and what it reports.

The worker makes one ``RunningJob`` per attempt and sets it for the task's call (a
context variable, copied into the thread of a plain function), so a task reads its job's
id, queue, attempt and checkpoint without taking them as arguments, and reports back:

- ``progress(value)`` and ``save_checkpoint(value)`` go out with the lease's next
  heartbeat (a third of the lease at most), or at once with ``flush=True``. Progress
  belongs to this attempt; the checkpoint is kept for the next one, which reads it as
  ``checkpoint``. Values are any JSON, checked here against the server's limits.
- ``cancelled`` turns true when the job is cancelled (the heartbeat that learns it) or
  its ``timeout`` passes. An ``async def`` task is cancelled outright then; a plain
  function cannot be stopped from outside its thread, so it should look at ``cancelled``
  between steps and return. Either way its outcome is dropped.

``checkpoint`` names the value; the method that saves one is ``save_checkpoint``, as one
attribute cannot be both.
"""

from __future__ import annotations

import asyncio
import contextvars
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import msgspec

from leaseq.client.models import Job
from leaseq.core import limits

Flush = Callable[[], Coroutine[Any, Any, None]]
"""Sends this attempt's reports in a heartbeat of its own lease, now."""

FLUSH_WAIT_S = 30.0
"""How long ``flush=True`` in a plain function waits for the server's answer at most."""

_CURRENT: contextvars.ContextVar[RunningJob] = contextvars.ContextVar("leaseq_current_job")


def current_job() -> RunningJob:
    """The job the calling task runs for; ``RuntimeError`` outside a task the worker runs."""
    try:
        return _CURRENT.get()
    except LookupError:
        raise RuntimeError("current_job() is only known inside a task a worker runs") from None


def _encoded(value: Any, limit: int, what: str) -> msgspec.Raw:
    try:
        raw = msgspec.json.encode(value)
    except (TypeError, msgspec.EncodeError) as exc:
        raise ValueError(f"{what} must be JSON: {exc}") from exc
    if len(raw) > limit:
        raise ValueError(f"{what} is {len(raw)} bytes of JSON; the server takes {limit} at most")
    return msgspec.Raw(raw)


class RunningJob:
    """One attempt of a job, as its task sees it (``current_job()``)."""

    def __init__(self, job: Job, loop: asyncio.AbstractEventLoop, flush: Flush) -> None:
        self.id = job.id
        self.queue = job.queue
        self.task = job.task
        self.attempt = job.attempts
        """1 for the first attempt; ``max_tries`` on the last."""
        self.max_tries = job.max_tries
        self.timeout = job.timeout
        self._checkpoint = job.checkpoint
        self._loop = loop
        self._flush = flush
        # A flag, not a ``threading.Event``: nothing waits on it, and an Event (a
        # Condition and its lock) was the costliest object a job's attempt made.
        self._cancelled = False
        self._lock = threading.Lock()
        self._progress: msgspec.Raw | None = None
        self._saved: msgspec.Raw | None = None

    @property
    def checkpoint(self) -> Any:
        """The last checkpoint saved: by an earlier attempt (the resume point), or by this
        one. None when there is none."""
        return self._checkpoint

    @property
    def cancelled(self) -> bool:
        """True once the job was cancelled or this attempt passed its timeout: stop."""
        return self._cancelled

    def progress(self, value: Any, *, flush: bool = False) -> None:
        """Reports how far this attempt got (any JSON, 64 KiB at most)."""
        raw = _encoded(value, limits.MAX_PROGRESS_BYTES, "progress")
        with self._lock:
            self._progress = raw
        if flush:
            self._send()

    def save_checkpoint(self, value: Any, *, flush: bool = False) -> None:
        """Saves where a retry resumes (any JSON but null, 1 MiB at most). ``flush``
        sends it now: a plain function waits for the server's answer, an ``async def``
        task does not (the send is on its own loop)."""
        if value is None:
            raise ValueError("a checkpoint cannot be null: null means none was saved")
        raw = _encoded(value, limits.MAX_CHECKPOINT_BYTES, "checkpoint")
        with self._lock:
            self._saved, self._checkpoint = raw, value
        if flush:
            self._send()

    def _send(self) -> None:
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            self._loop.create_task(self._flush())
        else:
            asyncio.run_coroutine_threadsafe(self._flush(), self._loop).result(FLUSH_WAIT_S)

    # -- the worker's side ---------------------------------------------------------------

    def take_reports(self) -> tuple[msgspec.Raw | None, msgspec.Raw | None]:
        """(progress, checkpoint) not sent yet, handed to a heartbeat; None: nothing new."""
        with self._lock:
            reports = (self._progress, self._saved)
            self._progress = self._saved = None
        return reports

    def put_back(self, reports: tuple[msgspec.Raw | None, msgspec.Raw | None]) -> None:
        """A heartbeat that carried ``reports`` did not arrive: send them next time,
        unless the task reported newer ones meanwhile."""
        with self._lock:
            self._progress = self._progress or reports[0]
            self._saved = self._saved or reports[1]

    def stop(self) -> None:
        self._cancelled = True

    def enter(self) -> contextvars.Token[RunningJob]:
        """Makes this the ``current_job()`` of the calling context."""
        return _CURRENT.set(self)
