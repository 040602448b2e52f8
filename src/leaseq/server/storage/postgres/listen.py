"""The LISTEN side of cross-node wake-ups.

A job enqueued through node A must wake a long poll waiting on node B at once, not when
B's poll times out. Every write that makes jobs QUEUED sends ``NOTIFY leaseq_jobs,
'<queue>'`` in its own transaction (so it is delivered only if the write commits); this
task holds one dedicated connection that LISTENs and hands each queue name to a callback
on the event loop; a second channel brings the ids of jobs that finished on any node, for
the waits for them (``server.waiting``). The connection is outside the pool because it
is never idle in the pool's sense, and it is reconnected, with backoff, whenever it is
lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import psycopg

from leaseq.server.storage import queries

log = logging.getLogger("leaseq.server.storage.postgres")

Q = queries.load("leaseq.server.storage.postgres")
CHANNEL = Q["channel"]
FINISHED_CHANNEL = Q["finished_channel"]

PROBE_S = 5.0
"""How long the listener waits for notifications before checking its connection: a TCP
connection that died silently delivers nothing, and only a query finds out."""

RETRY_MIN_S = 0.1
RETRY_MAX_S = 5.0


class Listener:
    def __init__(
        self,
        conninfo: str,
        kwargs: dict[str, Any],
        callback: Callable[[list[str]], None],
        finished: Callable[[list[str]], None] | None = None,
    ) -> None:
        self._conninfo = conninfo
        self._kwargs = kwargs
        self._callback = callback
        self._finished = finished
        self._listening = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._main(), name="leaseq-pg-listen")

    async def wait_listening(self, timeout: float) -> None:
        """Waits up to ``timeout`` for the first LISTEN, so that a notification sent
        after ``open()`` returns is not missed. A slow start is not fatal: long polls
        still end at their own timeout meanwhile, so this only logs."""
        try:
            await asyncio.wait_for(self._listening.wait(), timeout)
        except TimeoutError:
            log.warning("LISTEN %s not established after %.1fs; retrying", CHANNEL, timeout)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _main(self) -> None:
        delay = RETRY_MIN_S
        while True:
            try:
                await self._listen()
            except psycopg.Error as exc:
                if self._listening.is_set():
                    delay = RETRY_MIN_S  # it had been working: reconnect quickly
                log.warning("LISTEN connection lost (%s); reconnecting in %.1fs", exc, delay)
            self._listening.clear()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX_S)

    async def _listen(self) -> None:
        conn = await psycopg.AsyncConnection.connect(
            self._conninfo, autocommit=True, **self._kwargs
        )
        async with conn:
            await conn.execute(Q["listen"])
            if self._finished is not None:
                await conn.execute(Q["listen_finished"])
            self._listening.set()
            while True:
                async for notify in conn.notifies(timeout=PROBE_S):
                    if notify.channel == FINISHED_CHANNEL:
                        self._deliver_finished(notify.payload)
                    else:
                        self._deliver(notify.payload)
                await conn.execute(Q["ping"])

    def _deliver(self, queue: str) -> None:
        try:
            self._callback([queue])
        except Exception:  # a faulty callback must not stop the wake-ups of others
            log.exception("wake-up callback failed for queue %r", queue)

    def _deliver_finished(self, ids: str) -> None:
        assert self._finished is not None
        try:
            self._finished(ids.split(","))
        except Exception:  # as ``_deliver``
            log.exception("finished callback failed for jobs %r", ids)
