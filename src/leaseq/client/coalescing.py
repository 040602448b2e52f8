"""Concurrent single enqueues of one client, sent as one request while another is out.

A web app enqueues one job per request it serves, from many threads or tasks sharing one
client. Each ``POST /enqueue`` costs the server about 0.5 ms of CPU whatever it holds
(``docs/performance.md``), so 16 callers enqueueing one job each spend most of the
server on requests, not jobs. Here a client sends a lone enqueue at once, exactly as
before (the same request, the same errors), and the enqueues that arrive while a request
is out wait for it and then go together in one batch request: natural batching, as
Nagle's algorithm does for bytes, without a timer and so without added delay. Each
caller still waits for the answer that holds its own job, so its 2xx still means that job
is committed.

Specs with an idempotency key and specs without go in separate requests, so that a keyed
enqueue keeps its retries after a lost connection (``calls.enqueue_batch`` retries a batch
only when all of it is keyed). A batch the server refuses with a 4xx (one caller's bad
spec) is sent again one spec per request, so that each caller gets its own answer and a
bad spec fails only its sender. The server answers an idempotency key repeated within one
batch with the first job, as it answers two requests one after the other.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable
from typing import TypeVar

from leaseq.client.batching import batches
from leaseq.client.models import Job, JobSpec
from leaseq.errors import LeaseqError, ServerUnavailable

SendOne = Callable[[JobSpec], Job]
SendMany = Callable[[list[JobSpec]], list[Job]]
AsyncSendOne = Callable[[JobSpec], Awaitable[Job]]
AsyncSendMany = Callable[[list[JobSpec]], Awaitable[list[Job]]]
W = TypeVar("W")


def _refused_for_one(exc: Exception, sent: int) -> bool:
    """Whether a batch's refusal may be one spec's fault: then each is sent alone."""
    return sent > 1 and isinstance(exc, LeaseqError) and not isinstance(exc, ServerUnavailable)


def _take(pending: list[tuple[JobSpec, W]]) -> list[tuple[JobSpec, W]]:
    """The next batch, removed from ``pending``: the first spec and those after it that
    share its kind (with or without an idempotency key), within the batch limits. The
    kinds go apart because a batch may be retried after a lost connection only if every
    spec in it has a key: mixed, the keyed callers would lose their retries."""
    keyed = pending[0][0].idempotency_key is not None
    alike = [pair for pair in pending if (pair[0].idempotency_key is not None) is keyed]
    taken = alike[: len(next(batches(spec for spec, _ in alike)))]
    gone = {id(waiter) for _, waiter in taken}
    pending[:] = [pair for pair in pending if id(pair[1]) not in gone]
    return taken


class AsyncCoalescer:
    """One per ``AsyncClient``. A caller that finds nothing out sends its own spec itself
    (no task, nothing to hand over); callers arriving meanwhile wait, and a drain task
    sends them when it is done, and whoever arrives while the drain sends."""

    def __init__(self, one: AsyncSendOne, many: AsyncSendMany) -> None:
        self._one, self._many = one, many
        self._pending: list[tuple[JobSpec, asyncio.Future[Job]]] = []
        self._drain_task: asyncio.Task[None] | None = None
        self._alone = False  # a caller is sending its own spec

    async def enqueue(self, spec: JobSpec) -> Job:
        if not self._alone and self._drain_task is None:
            self._alone = True
            try:
                return await self._one(spec)
            finally:
                self._alone = False
                self._start_drain()
        future: asyncio.Future[Job] = asyncio.get_running_loop().create_future()
        self._pending.append((spec, future))
        if not self._alone:
            self._start_drain()
        return await future

    def _start_drain(self) -> None:
        if self._pending and self._drain_task is None:
            self._drain_task = asyncio.create_task(self._drain())

    async def _drain(self) -> None:
        batch: list[tuple[JobSpec, asyncio.Future[Job]]] = []
        try:
            while self._pending:
                batch = _take(self._pending)
                await self._send(batch)
                # The callers just answered run first: those that enqueue again at once
                # join the next batch rather than each finding the coalescer idle.
                await asyncio.sleep(0)
        finally:
            self._drain_task = None
            # Anything unsettled here means the drain itself was cancelled.
            for _, future in [*batch, *self._pending]:
                future.cancel()
            self._pending.clear()

    async def _send(self, batch: list[tuple[JobSpec, asyncio.Future[Job]]]) -> None:
        specs = [spec for spec, _ in batch]
        try:
            jobs = [await self._one(specs[0])] if len(specs) == 1 else await self._many(specs)
        except Exception as exc:
            if _refused_for_one(exc, len(specs)):
                for pair in batch:
                    await self._send([pair])
                return
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), job in zip(batch, jobs, strict=True):
            if not future.done():  # its caller was cancelled meanwhile
                future.set_result(job)


class _Slot:
    """One blocked caller: woken when its job is answered, or to send the next batch."""

    def __init__(self) -> None:
        self.woken = threading.Event()
        self.lead = False
        self.job: Job | None = None
        self.error: Exception | None = None

    def settle(self, job: Job | None, error: Exception | None) -> None:
        self.job, self.error = job, error
        self.woken.set()

    def outcome(self) -> Job:
        if self.error is not None:
            raise self.error
        assert self.job is not None
        return self.job


class Coalescer:
    """One per blocking ``Client``, for threads sharing it. No thread of its own: the
    caller that finds nothing out sends; when its answer is in, the first caller still
    pending (if any) is woken to send the next batch, so nobody sends for others long."""

    def __init__(self, one: SendOne, many: SendMany) -> None:
        self._one, self._many = one, many
        self._lock = threading.Lock()
        self._pending: list[tuple[JobSpec, _Slot]] = []
        self._busy = False

    def enqueue(self, spec: JobSpec) -> Job:
        slot = _Slot()
        with self._lock:
            self._pending.append((spec, slot))
            slot.lead, self._busy = not self._busy, True
        if not slot.lead:
            try:
                slot.woken.wait()
            except BaseException:  # KeyboardInterrupt: nobody may wait for this caller
                self._leave(slot)
                raise
        if slot.lead:  # set by this caller above, or by the sender before it
            self._lead()
        return slot.outcome()

    def _leave(self, slot: _Slot) -> None:
        """A caller interrupted while waiting: its spec is dropped if not sent yet, and
        the turn to send, if it was just handed to it, goes on."""
        with self._lock:
            self._pending[:] = [pair for pair in self._pending if pair[1] is not slot]
            if slot.lead:
                self._hand_on()

    def _hand_on(self) -> None:
        """Under the lock: wakes the first caller pending to send the next batch."""
        if self._pending:
            following = self._pending[0][1]
            following.lead = True
            following.woken.set()
        else:
            self._busy = False

    def _lead(self) -> None:
        """Sends the first pending batch (it holds the leader's own spec), then hands on."""
        with self._lock:
            batch = _take(self._pending)
        try:
            self._send(batch)
        finally:
            for _, slot in batch:  # only when ``_send`` was interrupted (KeyboardInterrupt)
                if slot.job is None and slot.error is None:
                    slot.settle(None, RuntimeError("the enqueue was interrupted"))
            with self._lock:
                self._hand_on()

    def _send(self, batch: list[tuple[JobSpec, _Slot]]) -> None:
        specs = [spec for spec, _ in batch]
        try:
            jobs = [self._one(specs[0])] if len(specs) == 1 else self._many(specs)
        except Exception as exc:
            if _refused_for_one(exc, len(specs)):
                for pair in batch:
                    self._send([pair])
                return
            for _, slot in batch:
                slot.settle(None, exc)
            return
        for (_, slot), job in zip(batch, jobs, strict=True):
            slot.settle(job, None)
