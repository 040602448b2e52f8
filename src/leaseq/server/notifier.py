"""Wakes long polls when a queue may have work, without polling the database.

Every change that can make a job ready (enqueue, a retry, an expired lease, a release,
a requeue) calls ``notify`` with its queues; a waiting poll subscribes *before* it tries
to claim, so a notification that lands between its claim and its wait is never missed.
Lives on the event loop thread only.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable


class Notifier:
    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Future[None]]] = {}
        self._closed = False

    @property
    def closed(self) -> bool:
        return self._closed

    def subscribe(self, queues: Iterable[str]) -> asyncio.Future[None]:
        """A future that completes at the next notify of any of ``queues`` (or close)."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if self._closed:
            future.set_result(None)
            return future
        names = list(queues)
        for name in names:
            self._waiters.setdefault(name, set()).add(future)

        def forget(_: asyncio.Future[None]) -> None:
            for name in names:
                waiting = self._waiters.get(name)
                if waiting is not None:
                    waiting.discard(future)
                    if not waiting:
                        del self._waiters[name]

        future.add_done_callback(forget)
        return future

    def notify(self, queues: Iterable[str]) -> None:
        for name in set(queues):
            for future in list(self._waiters.get(name, ())):
                if not future.done():
                    future.set_result(None)

    def close(self) -> None:
        """Wakes everyone for good: used at shutdown so long polls answer at once."""
        self._closed = True
        self.notify(list(self._waiters))
