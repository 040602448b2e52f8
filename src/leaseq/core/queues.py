"""A queue's settings, the values that steer it: paused, concurrency, rate and per-key
limits. Plain data and one pure rule, no I/O.

A queue is still just a name: every queue has these settings, at their defaults until an
operator changes them, and storage keeps only the ones that were changed. The rule
``claimable`` is the specification the claim statements of every backend must match,
as ``transitions.lease`` is for a single lease (the conformance suite checks both).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import Enum, StrEnum

from leaseq.core.model import JobState


class Unset(Enum):
    """ "Leave this setting as it is", in a ``QueueChange``; ``None`` means "no limit"."""

    UNSET = "unset"


UNSET = Unset.UNSET


@dataclass(frozen=True, slots=True)
class RateLimit:
    """At most ``count`` leases of the queue in any window of ``per_ms`` milliseconds."""

    count: int
    per_ms: int


@dataclass(frozen=True, slots=True)
class QueueSettings:
    paused: bool = False
    """A poll leases nothing from a paused queue; everything else carries on."""
    concurrency: int | None = None
    """At most this many of the queue's jobs LEASED at once, across every node."""
    rate_limit: RateLimit | None = None
    key_concurrency: int | None = None
    """At most this many LEASED jobs with the same ``concurrency_key``; jobs without a
    key are not limited by it."""

    @property
    def limited(self) -> bool:
        """Whether a claim must count anything before it takes jobs of this queue."""
        return (
            self.paused
            or self.concurrency is not None
            or self.rate_limit is not None
            or self.key_concurrency is not None
        )


@dataclass(frozen=True, slots=True)
class QueueChange:
    """A partial update of a queue's settings: what is ``UNSET`` stays as it was."""

    paused: bool | Unset = UNSET
    concurrency: int | Unset | None = UNSET
    rate_limit: RateLimit | Unset | None = UNSET
    key_concurrency: int | Unset | None = UNSET

    def apply(self, current: QueueSettings) -> QueueSettings:
        changes = {
            name: value
            for name in ("paused", "concurrency", "rate_limit", "key_concurrency")
            if (value := getattr(self, name)) is not UNSET
        }
        return replace(current, **changes)

    def frees_slots(self, before: QueueSettings) -> bool:
        """Whether applying this change may let a waiting poll take a job it could not
        take before (a resume, a raised or removed limit): then waiters are woken."""
        after = self.apply(before)
        return (
            (before.paused and not after.paused)
            or _raised(before.concurrency, after.concurrency)
            or _raised(before.key_concurrency, after.key_concurrency)
            or before.rate_limit != after.rate_limit
        )


def _raised(before: int | None, after: int | None) -> bool:
    return before is not None and (after is None or after > before)


@dataclass(frozen=True, slots=True)
class QueueInfo:
    """A queue as the API shows it: its settings and its job counts by state."""

    name: str
    settings: QueueSettings
    counts: dict[JobState, int] = field(default_factory=lambda: dict.fromkeys(JobState, 0))


def claimable(settings: QueueSettings, leased: int, leases_in_window: int, wanted: int) -> int:
    """How many jobs of a queue one claim may take, before per-key limits: none while
    paused, and no more than the concurrency and the rate limit leave room for.
    ``leased`` is how many of its jobs are LEASED now, ``leases_in_window`` how many
    leases it took within the rate window ending now."""
    if settings.paused:
        return 0
    room = wanted
    if settings.concurrency is not None:
        room = min(room, settings.concurrency - leased)
    if settings.rate_limit is not None:
        room = min(room, settings.rate_limit.count - leases_in_window)
    return max(room, 0)


class HeldBack(StrEnum):
    """Why a claim left a ready job of a queue where it was (the label of the
    ``leaseq_claims_held_total`` counter)."""

    PAUSED = "paused"
    CONCURRENCY = "concurrency"
    RATE = "rate"
    KEY = "key"


def held_back(
    settings: QueueSettings,
    leased: int,
    leases_in_window: int,
    wanted: int,
    ready: int,
    key_dropped: int,
) -> HeldBack | None:
    """Which rule kept a ready job of the queue from a claim, if one did. ``ready`` is how
    many ready jobs the claim found that its per-key limit let through (it looks one job
    past what ``claimable`` allows, so ``ready > claimable(...)`` means a job waited for
    the queue's room), ``key_dropped`` how many the per-key limit kept back."""
    if settings.paused:  # first, whatever else would hold a job back (a key, say)
        return HeldBack.PAUSED if ready or key_dropped else None
    room = claimable(settings, leased, leases_in_window, wanted)
    if ready > room:
        if settings.concurrency is not None and settings.concurrency - leased <= room:
            return HeldBack.CONCURRENCY
        rate = settings.rate_limit
        if rate is not None and rate.count - leases_in_window <= room:
            return HeldBack.RATE
    return HeldBack.KEY if key_dropped else None
