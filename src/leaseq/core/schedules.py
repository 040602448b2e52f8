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

import dataclasses
import functools
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from itertools import islice
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError
from msgspec.structs import replace

from leaseq.core.model import IdempotencyScope, JobRecord, JobState, NewJob
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
        _validated(self.cron, self.timezone)

    def next_slot(self, after_ms: int) -> int:
        """The first slot strictly after ``after_ms``."""
        if self.every_ms is not None:
            return (after_ms // self.every_ms + 1) * self.every_ms
        return _next_cron(self.cron or "", self.timezone, after_ms)

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
        if self.next_slot(first) > now_ms:  # the usual pass: no slot was missed
            return Due(first, 0)
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


@functools.lru_cache(maxsize=1024)
def _validated(cron: str | None, timezone: str) -> None:
    """Raises ``InvalidRequest`` naming the bad field. Cached (errors are not), because
    every schedule read from storage builds its ``Cadence`` again."""
    zone(timezone)
    if cron is not None:
        _cron(cron, datetime.now(UTC))


@functools.lru_cache(maxsize=4096)
def _next_cron(expr: str, timezone: str, after_ms: int) -> int:
    """The first match of ``expr`` strictly after ``after_ms``. Cached: schedules that
    share an expression (every ``0 * * * *`` of a fleet) fall due at the same slot, and
    cronsim costs tens of microseconds per answer, which a pass of a thousand due
    schedules would otherwise pay a thousand times."""
    start = datetime.fromtimestamp(after_ms / 1000, zone(timezone))
    return next(_Slots(_cron(expr, start), after_ms, None))


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


# -- the rules storage applies -------------------------------------------------------------
#
# As ``transitions`` for jobs: pure functions of a schedule and ``now`` that say what must
# be stored next; storage writes the answer guarded on the slot it read.


class RunOutcome(StrEnum):
    """What one slot (or a trigger) of a schedule came to, in its run history."""

    ENQUEUED = "enqueued"
    """The slot's job was enqueued."""
    OVERLAP = "overlap"
    """The slot was skipped: the previous job of the schedule was still QUEUED or LEASED
    (``Overlap.SKIP``)."""
    MANUAL = "manual"
    """A trigger: one run now, outside the slots."""


@dataclass(frozen=True, slots=True)
class ScheduleRun:
    """One line of a schedule's run history. Times are epoch milliseconds."""

    name: str
    slot_ms: int | None
    """The slot taken; None for a trigger."""
    at: int
    """When it was taken (the slot's lag is ``at - slot_ms``)."""
    job_id: str | None
    """The job enqueued; None when the slot was skipped for overlap."""
    skipped: int
    """Earlier slots missed (no node ran the scheduler) and not replayed."""
    outcome: RunOutcome


@dataclass(frozen=True, slots=True)
class Taken:
    """A slot one scheduler pass took, as the service sees it (metrics, wake-ups)."""

    name: str
    slot_ms: int
    at: int
    skipped: int
    """Earlier slots missed after downtime."""
    job: JobRecord | None
    """The slot's job (an existing one if the slot's key was already taken); None when
    the slot itself was skipped for overlap."""


@dataclass(frozen=True, slots=True)
class Step:
    """What a pass must store for one due schedule: the slot guard moves from
    ``seen_slot`` to ``slot_ms`` and ``next_run_at`` is recomputed; ``job`` is enqueued
    in the same transaction. ``outcome`` None: nothing was due after all (the schedule
    was resumed or replaced since ``next_run_at`` was stored), only ``next_run_at`` moves."""

    name: str
    seen_slot: int | None
    slot_ms: int | None
    next_run_at: int
    skipped: int
    job: NewJob | None
    outcome: RunOutcome | None


ACTIVE_STATES = (JobState.QUEUED, JobState.LEASED)


def step(record: ScheduleRecord, last_job_state: JobState | None, now: int) -> Step:
    """The pass's move for one schedule at ``now``; ``last_job_state`` is the state of
    ``record.last_job_id`` (None when there is none, or it was purged)."""
    seen, cadence = record.last_run_at, record.cadence
    due = cadence.due(seen, now, record.since)
    if due is None:
        after = record.since if seen is None else max(seen, record.since)
        return Step(record.name, seen, seen, cadence.next_slot(after), 0, None, None)
    slot, following = due.slot_ms, cadence.next_slot(due.slot_ms)
    if record.overlap is Overlap.SKIP and last_job_state in ACTIVE_STATES:
        return Step(record.name, seen, slot, following, due.skipped, None, RunOutcome.OVERLAP)
    job = slot_job(record.job, slot_key(record.name, slot))
    return Step(record.name, seen, slot, following, due.skipped, job, RunOutcome.ENQUEUED)


def slot_job(template: NewJob, key: str) -> NewJob:
    """The job a slot (or a trigger) enqueues: the template under the run's own key, held
    while the job is kept (``STORED``), so a slot can never get a twin even after its
    job finished; runnable at once (plus the template's delay), never at its ``run_at``."""
    return replace(template, idempotency_key=key, idempotency_scope=IdempotencyScope.STORED,
                   run_at=None)  # fmt: skip


def manual_key(name: str, token: str) -> str:
    """The key of a trigger's job: outside the slots, so it never takes a slot's key."""
    return f"schedule:{name}:manual:{token}"


def placed(spec: ScheduleSpec, old: ScheduleRecord | None, now: int) -> ScheduleRecord:
    """The schedule a PUT stores. A replacement keeps its slot guard, last job, creation
    time and (unless the spec says) its pause; a changed cadence or an unpause counts
    as a new start (``since = now``), so neither replays slots from before the PUT."""
    if old is None:
        paused = bool(spec.paused)
        return ScheduleRecord(
            spec.name, spec.cadence, spec.job, paused, spec.overlap,
            None if paused else spec.cadence.next_slot(now), None, None, now, now, now,
        )  # fmt: skip
    paused = old.paused if spec.paused is None else spec.paused
    restarted = spec.cadence != old.cadence or (old.paused and not paused)
    since = max(old.since, now) if restarted else old.since
    record = ScheduleRecord(
        spec.name, spec.cadence, spec.job, paused, spec.overlap, None, old.last_run_at,
        old.last_job_id, since, old.created_at, now,
    )  # fmt: skip
    return _scheduled(record)


def paused_as(record: ScheduleRecord, paused: bool, now: int) -> ScheduleRecord:
    """Pause or resume. A resume starts afresh (``since = now``): the slots missed while
    paused are not replayed. Pausing a paused schedule, or resuming a running one,
    changes nothing (a resume of a running schedule must not drop its due slot)."""
    if record.paused is paused:
        return record
    since = record.since if paused else max(record.since, now)
    return _scheduled(_replace_record(record, paused=paused, since=since, updated_at=now))


def _scheduled(record: ScheduleRecord) -> ScheduleRecord:
    """``record`` with ``next_run_at`` recomputed: None while paused, else the first slot
    after the guard (or ``since``); in the past when the schedule is overdue, which the
    next pass takes at once."""
    if record.paused:
        return _replace_record(record, next_run_at=None)
    seen = record.last_run_at
    after = record.since if seen is None else max(seen, record.since)
    return _replace_record(record, next_run_at=record.cadence.next_slot(after))


def _replace_record(record: ScheduleRecord, **changes: object) -> ScheduleRecord:
    return dataclasses.replace(record, **changes)  # type: ignore[arg-type]
