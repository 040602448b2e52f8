"""Schedules: when a periodic job is due. Plain data and pure slot arithmetic, no I/O.

A schedule's *slots* are the instants it is due: the times a cron expression matches in
its time zone, or the multiples of ``every`` seconds since the Unix epoch. Storage takes
a slot with one guarded write (the schedule's last slot and the job's insert in one
transaction), so exactly one job exists per slot whatever the number of nodes; this
module only says which slot is due and how many were missed, so that every backend and
every node computes the same answer from the same ``now``.

Cron is parsed by ``cronsim`` (maintained, and correct across DST changes: a daily 02:30
runs once on the day the clocks skip 02:30 and once on the day they repeat it); only the
``@hourly``-style aliases are spelt out here, because cronsim takes five fields.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from itertools import islice
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from leaseq.core.model import NewJob
from leaseq.errors import InvalidRequest

ALIASES = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}

MAX_SKIPPED_COUNTED = 10_000
"""Missed slots counted one by one after downtime; past this the count says "at least"."""


class Overlap(StrEnum):
    ALLOW = "allow"
    """A slot enqueues its job even while the previous one is still QUEUED or LEASED."""
    SKIP = "skip"
    """No new job while the previous one of this schedule is QUEUED or LEASED; the slot
    is recorded as skipped."""


@dataclass(frozen=True, slots=True)
class Cadence:
    """When a schedule is due: exactly one of ``cron`` and ``every_ms``."""

    cron: str | None = None
    every_ms: int | None = None
    timezone: str = "UTC"

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.every_ms is None):
            raise InvalidRequest("give exactly one of `cron` or `every`")
        if self.every_ms is not None and self.every_ms < 1000:
            raise InvalidRequest("every: must be at least 1 second")
        zone(self.timezone)
        if self.cron is not None:
            _cron(self.cron, datetime.now(UTC))

    def next_slot(self, after_ms: int) -> int:
        """The first slot strictly after ``after_ms``."""
        if self.every_ms is not None:
            return (after_ms // self.every_ms + 1) * self.every_ms
        return next(self._cron_slots(after_ms))

    def due(self, last_slot_ms: int | None, now_ms: int, since_ms: int) -> Due | None:
        """The slot to take at ``now_ms``, if one is due: the most recent slot at or
        before now and after the last one taken (or after ``since_ms``, when the schedule
        was created or resumed, so neither replays old slots), and how many earlier
        slots in between are skipped (after downtime: one job, not a burst)."""
        after = since_ms if last_slot_ms is None else max(last_slot_ms, since_ms)
        first = self.next_slot(after)
        if first > now_ms:
            return None
        if self.every_ms is not None:
            latest = now_ms // self.every_ms * self.every_ms
            return Due(latest, (latest - first) // self.every_ms)
        latest = self._latest_cron_slot(now_ms)
        skipped = sum(1 for _ in islice(self._cron_slots(after, latest - 1), MAX_SKIPPED_COUNTED))
        return Due(latest, skipped)

    def _latest_cron_slot(self, now_ms: int) -> int:
        """The last cron match at or before ``now_ms`` (cronsim walks backwards strictly
        before its start, at whole seconds)."""
        assert self.cron is not None
        start = datetime.fromtimestamp(now_ms // 1000 + 1, zone(self.timezone))
        return round(next(CronSim(_expanded(self.cron), start, reverse=True)).timestamp() * 1000)

    def _cron_slots(self, after_ms: int, until_ms: int | None = None) -> _Slots:
        assert self.cron is not None
        start = datetime.fromtimestamp(after_ms / 1000, zone(self.timezone))
        return _Slots(_cron(self.cron, start), after_ms, until_ms)


class _Slots:
    """Cron matches as epoch milliseconds, strictly after ``after_ms`` and, when
    ``until_ms`` is given, at or before it."""

    def __init__(self, sim: CronSim, after_ms: int, until_ms: int | None) -> None:
        self._sim, self._after, self._until = sim, after_ms, until_ms

    def __iter__(self) -> _Slots:
        return self

    def __next__(self) -> int:
        while True:
            slot = round(next(self._sim).timestamp() * 1000)
            if self._until is not None and slot > self._until:
                raise StopIteration
            if slot > self._after:
                return slot


@dataclass(frozen=True, slots=True)
class Due:
    slot_ms: int
    """The slot to take now."""
    skipped: int
    """Earlier slots not run (the node was down); recorded in the history, not replayed.
    ``MAX_SKIPPED_COUNTED`` means at least that many."""


@dataclass(frozen=True, slots=True)
class ScheduleSpec:
    """What a PUT of a schedule asks for. ``job`` is the template every slot's job is
    made from (its ``idempotency_key`` is set per slot: ``slot_key``). ``paused`` None
    keeps a replaced schedule's pause as it was (a new one starts unpaused), so a worker
    that upserts its app's schedules at start never unpauses one an operator paused."""

    name: str
    cadence: Cadence
    job: NewJob
    paused: bool | None = None
    overlap: Overlap = Overlap.ALLOW


@dataclass(frozen=True, slots=True)
class ScheduleRecord:
    """A schedule as stored. Times are epoch milliseconds."""

    name: str
    cadence: Cadence
    job: NewJob
    paused: bool
    overlap: Overlap
    next_run_at: int | None
    """The next slot it will take (None while paused)."""
    last_run_at: int | None
    """The last slot taken (the slot's time, not when it was taken)."""
    last_job_id: str | None
    since: int
    """Slots at or before this are never taken: when it was created or last resumed."""
    created_at: int
    updated_at: int


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise InvalidRequest(f"timezone: {name!r} is not an IANA time zone") from exc


def _expanded(expr: str) -> str:
    return ALIASES.get(expr.strip().lower(), expr)


def _cron(expr: str, start: datetime) -> CronSim:
    try:
        return CronSim(_expanded(expr), start)
    except CronSimError as exc:
        raise InvalidRequest(f"cron: {expr!r} is not a cron expression ({exc})") from exc


def slot_key(name: str, slot_ms: int) -> str:
    """The idempotency key of a slot's job: ``schedule:{name}:{slot}``, the slot in RFC
    3339 UTC, so a second node that races for the same slot finds the job, not a twin."""
    when = datetime.fromtimestamp(slot_ms / 1000, UTC)
    return f"schedule:{name}:{when.strftime('%Y-%m-%dT%H:%M:%S')}.{slot_ms % 1000:03d}Z"
