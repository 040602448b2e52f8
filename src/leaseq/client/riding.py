"""Acks that ride on the worker's next poll: the fused ack-and-poll, one round trip per job.

A finished job's ack boards only while the poll loop waits for a free slot (the job's
end frees one, so that poll leaves at once and carries the ack) or during the one turn of
the event loop it yields before a poll leaves (``collect``: a fast ``async def`` task
started from the last answer ends in that turn, so its ack goes with the next poll
instead of in an ``/ack`` of its own, one request per batch of jobs instead of two). When
a poll is already in flight (a long poll may wait seconds server-side), or the worker is
stopping, the ack goes on its own, as before; so no ack waits for a poll that is not
coming, and a riding job's lease is still heartbeaten until the poll's answer says what
its ack did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Generic, TypeVar

from leaseq.core import limits

T = TypeVar("T")


class Ride(Generic[T]):
    def __init__(self, alone: Callable[[T], None]) -> None:
        self.boarding = False
        """True only while the poll loop waits for a slot (set and cleared by it)."""
        self._alone = alone
        self._riders: list[T] = []

    async def collect(self) -> None:
        """Boards what finishes during one turn of the event loop (see the module)."""
        self.boarding = True
        try:
            await asyncio.sleep(0)
        finally:
            self.boarding = False

    def offer(self, item: T) -> None:
        """Boards ``item`` if a poll is about to leave, else sends it on its own."""
        if self.boarding:
            self._riders.append(item)
        else:
            self._alone(item)

    def take(self) -> list[T]:
        """The riders of the poll leaving now; any past what one poll carries go alone."""
        riders, self._riders = self._riders, []
        for item in riders[limits.MAX_POLL_ACKS :]:
            self._alone(item)
        return riders[: limits.MAX_POLL_ACKS]

    def unboard(self, items: list[T]) -> None:
        """The poll carrying ``items`` failed (its acks may not have landed): they go alone;
        an ack of the same lease again is answered as the first was."""
        for item in items:
            self._alone(item)
