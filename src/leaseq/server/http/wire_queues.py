"""The wire shapes of the queue settings endpoints (``/queues``, ``/queues/{name}``),
kept beside ``wire`` on the same rules: requests forbid unknown fields, limits come from
``leaseq.core.limits``, and a request says how to make its domain value."""

from __future__ import annotations

from typing import Annotated, TypeVar

import msgspec
from msgspec import Meta, Struct

from leaseq.core import limits
from leaseq.core.queues import UNSET, QueueChange, RateLimit, Unset
from leaseq.server.http.wire import QueueName, _In


class QueuePath(_In):
    """The path of ``/queues/{name}``: validated like a queue name anywhere else, so a
    bad one is a 422 that names ``name``, not a queue nobody can enqueue to."""

    name: QueueName


Concurrency = Annotated[int, Meta(ge=1, le=limits.MAX_QUEUE_CONCURRENCY)]


class RateLimitIn(_In):
    count: Annotated[int, Meta(ge=1, le=limits.MAX_RATE_COUNT)]
    per_s: Annotated[
        float,
        Meta(
            ge=0.001,
            le=limits.MAX_RATE_WINDOW_S,
            description="The window, seconds; kept to the millisecond",
        ),
    ]
    """At least a millisecond: windows are stored as whole milliseconds, and a shorter
    one would round to a window of nothing."""

    def to_domain(self) -> RateLimit:
        return RateLimit(self.count, max(1, round(self.per_s * 1000)))


class QueuePatchIn(_In):
    """``PATCH /queues/{name}``: the settings to change. A field left out stays as it
    is; ``null`` removes that limit. An empty body is refused rather than answered as a
    no-op, because a PATCH that changes nothing is almost always a client's mistake."""

    paused: bool | msgspec.UnsetType = msgspec.UNSET
    concurrency: Concurrency | msgspec.UnsetType | None = msgspec.UNSET
    rate_limit: RateLimitIn | msgspec.UnsetType | None = msgspec.UNSET
    key_concurrency: Concurrency | msgspec.UnsetType | None = msgspec.UNSET

    AT_LEAST_ONE_FIELD = True

    def __post_init__(self) -> None:
        if all(getattr(self, f) is msgspec.UNSET for f in self.__struct_fields__):
            raise ValueError(
                "give at least one of `paused`, `concurrency`, `rate_limit`, `key_concurrency`"
            )

    def to_domain(self) -> QueueChange:
        rate = self.rate_limit
        return QueueChange(
            paused=_kept(self.paused),
            concurrency=_kept(self.concurrency),
            rate_limit=rate.to_domain() if isinstance(rate, RateLimitIn) else _kept(rate),
            key_concurrency=_kept(self.key_concurrency),
        )


K = TypeVar("K")


def _kept(value: K | msgspec.UnsetType) -> K | Unset:
    """msgspec's "not in the body" as the domain's "leave as it is"."""
    return UNSET if isinstance(value, msgspec.UnsetType) else value


# -- responses ---------------------------------------------------------------------------


class RateLimitOut(Struct):
    count: int
    per_s: float


class JobCountsOut(Struct):
    QUEUED: int
    LEASED: int
    DONE: int
    DEAD: int
    CANCELLED: int


class QueueOut(Struct):
    """A queue's settings (``null``: no limit) and its jobs counted by state."""

    name: str
    paused: bool
    concurrency: int | None
    rate_limit: RateLimitOut | None
    key_concurrency: int | None
    counts: JobCountsOut


class QueueEnvelope(Struct):
    queue: QueueOut


class QueuesOut(Struct):
    queues: list[QueueOut]
