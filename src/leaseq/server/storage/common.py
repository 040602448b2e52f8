"""What both backends do alike that is not SQL: pure functions over records and rows.

Planning an enqueue (ids, ``new_job``, idempotency keys), the order a claim answers in,
the filter and pages of listings, and the mapping of a named row to a record. Rows are
named (SQLite's and psycopg's connections both make named tuples), so nothing here, or
in a backend, reads a column by its position.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

import msgspec

from leaseq.core.model import (
    Action,
    EventListing,
    EventRecord,
    IdempotencyScope,
    JobFilter,
    JobIds,
    JobListing,
    JobRecord,
    JobState,
    NewJob,
    QueueCounts,
)
from leaseq.core.queues import QueueInfo, QueueSettings, RateLimit
from leaseq.core.transitions import new_job
from leaseq.errors import InvalidRequest

IdempotencyKey = tuple[str, str | None]
"""(queue, idempotency key): a key is unique within its queue."""


Row = Any
"""A row as the drivers make it: a named tuple, untyped. Each function below names the
columns it reads."""


def job_from_row(row: Row) -> JobRecord:
    """The job in a row holding the columns of ``jobs``, named as ``JobRecord``'s fields
    (and perhaps more, such as ``seq`` or ``now``)."""
    return JobRecord(
        row.id, row.queue, row.task, row.payload, JobState(row.state), row.priority,
        row.attempts, row.max_tries, row.run_at, row.lease_owner, row.lease_token,
        row.lease_expires_at, row.last_error, row.result, row.idempotency_key,
        row.created_at, row.updated_at, row.leased_at, row.concurrency_key,
        idempotency_scope=IdempotencyScope(row.idempotency_scope),
        last_error_type=row.last_error_type, last_error_message=row.last_error_message,
        timeout_ms=row.timeout_ms, progress=row.progress, checkpoint=row.checkpoint,
        tags=() if row.tags is None else tags_from_json(row.tags), traceparent=row.traceparent,
    )  # fmt: skip


tags_from_json = msgspec.json.Decoder(tuple[str, ...]).decode
"""A job's ``tags`` column: a JSON array of strings (NULL when it has none)."""


def tags_json(tags: Sequence[str]) -> str | None:
    """The ``tags`` column of a job: NULL for none, so untagged jobs cost nothing."""
    return msgspec.json.encode(tags).decode() if tags else None


def event_from_row(row: Row) -> EventRecord:
    """The event in a row of ``job_events``."""
    return EventRecord(
        row.job_id, row.at, Action(row.kind), JobState(row.state), row.worker_id, row.attempt,
        row.error,
    )  # fmt: skip


# -- enqueue -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EnqueuePlan:
    """The jobs a batch of specs would insert: one per spec, except that a spec whose
    idempotency key an earlier spec of the batch holds is answered by that spec's job."""

    jobs: list[JobRecord]
    slots: list[int]
    """For each spec, the index in ``jobs`` of the job that answers it."""

    @property
    def keyed(self) -> list[JobRecord]:
        """The jobs whose idempotency key may already be stored."""
        return [job for job in self.jobs if job.idempotency_key is not None]

    def answers(
        self, inserted: Collection[str], existing: Mapping[IdempotencyKey, JobRecord]
    ) -> list[tuple[JobRecord, bool]]:
        """Each spec's answer, given the ids of the jobs the backend inserted and, for the
        keys it found taken, the stored jobs that hold them: ``(job, created)``."""
        out: list[tuple[JobRecord, bool]] = []
        answered: set[int] = set()
        for index in self.slots:
            job = self.jobs[index]
            if job.id in inserted:
                out.append((job, index not in answered))
            elif (held := existing.get((job.queue, job.idempotency_key))) is not None:
                out.append((held, False))
            else:  # a keyless job is never skipped
                raise AssertionError(f"job {job.id} was neither inserted nor found by its key")
            answered.add(index)
        return out


def plan_enqueue(specs: Sequence[NewJob], ids: JobIds, now: int) -> EnqueuePlan:
    jobs: list[JobRecord] = []
    slots: list[int] = []
    first: dict[IdempotencyKey, int] = {}
    for spec in specs:
        if spec.idempotency_key is not None:
            key = (spec.queue, spec.idempotency_key)
            if key in first:
                slots.append(first[key])
                continue
            first[key] = len(jobs)
        slots.append(len(jobs))
        jobs.append(new_job(spec, ids.new(now), now))
    return EnqueuePlan(jobs, slots)


# -- claim ---------------------------------------------------------------------------------


class Ranked(Protocol):
    """A row of a ready job with what poll order reads of it."""

    seq: int
    priority: int
    run_at: int


class PollOrder(NamedTuple):
    """Where a ready job stands in poll order, ascending: highest priority first, then
    the earliest ``run_at``, then enqueue order (``seq``)."""

    minus_priority: int
    run_at: int
    seq: int


def poll_order(row: Ranked) -> PollOrder:
    """The sort key of a claim's rows, which each backend merges from several queues."""
    return PollOrder(-row.priority, row.run_at, row.seq)


def within_budget(payloads: Sequence[str], max_bytes: int) -> int:
    """How many of the texts (a leased job's payload and last error), in order, an answer
    of ``max_bytes`` holds (their UTF-8 bytes), but at least one: a job bigger than the
    budget still goes, alone. A text of n characters has at most 4n bytes, so the common
    case encodes nothing."""
    if sum(map(len, payloads)) * 4 <= max_bytes:
        return len(payloads)
    total = 0
    for i, payload in enumerate(payloads):
        total += len(payload.encode())
        if total > max_bytes and i > 0:
            return i
    return len(payloads)


# -- listings ------------------------------------------------------------------------------


def cursor_seq(cursor: str | None) -> int | None:
    """The row position a cursor stands for (None: from the start). Cursors are the
    decimal ``seq`` of a row; anything else, or one past 64 bits, is refused."""
    if cursor is None:
        return None
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 18):
        raise InvalidRequest(f"cursor: {cursor!r} is not a cursor this server gave out")
    return int(cursor)


@dataclass(frozen=True, slots=True)
class Listing:
    """The holes of a ``list_jobs`` statement: its tables, condition and order column."""

    source: str
    where: str
    seq: str
    params: list[object]


def listing_filter(
    state: JobState | None,
    queue: str | None,
    cursor: str | None,
    mark: str,
    match: JobFilter | None,
    now: tuple[str, int | None],
) -> Listing:
    """A job listing (newest first, before ``cursor``) and its parameters; ``mark`` is the
    backend's parameter marker. With tags, the walk is over the first tag's rows of
    ``job_tags`` (``g``), newest first, each job found by its ``seq`` and each further tag
    probed by ``(tag, seq)``: a page costs the rows of that tag it passes, whatever number
    of other jobs the store holds."""
    match = match or JobFilter()
    tags = list(dict.fromkeys(match.tags))
    seq = "g.seq" if tags else "jobs.seq"
    conditions: list[tuple[str, object]] = [(f"g.tag = {mark}", tags[0])] if tags else []
    conditions += [
        (f"EXISTS (SELECT 1 FROM job_tags AS h WHERE h.tag = {mark} AND h.seq = g.seq)", tag)
        for tag in tags[1:]
    ]
    conditions += [
        (f"jobs.state = {mark}", None if state is None else state.value),
        (f"jobs.queue = {mark}", queue),
        (f"jobs.task = {mark}", match.task),
        (f"{seq} < {mark}", cursor_seq(cursor)),
    ]
    kept = [(sql, value) for sql, value in conditions if value is not None]
    kept += _time_and_tries(match, now)
    where = " AND ".join(sql for sql, _ in kept)
    if tags:
        where = f"jobs.seq = g.seq AND {where}"
    source = "job_tags AS g CROSS JOIN jobs" if tags else "jobs"
    params = [value for _, value in kept if value is not _NO_PARAM]
    return Listing(source, where or "TRUE", seq, params)


_NO_PARAM = object()


def _time_and_tries(match: JobFilter, now: tuple[str, int | None]) -> list[tuple[str, object]]:
    """The ``delayed`` and ``attempted`` conditions. ``now`` is the backend's expression of
    the store's time and its parameter (PostgreSQL's is NULL for the database's clock, so
    it cannot go through the None-means-absent rule of the other conditions)."""
    out: list[tuple[str, object]] = []
    if match.delayed is not None:
        out.append((f"jobs.run_at {'>' if match.delayed else '<='} {now[0]}", now[1]))
    if match.attempted is not None:
        out.append((f"jobs.attempts {'>' if match.attempted else '='} 0", _NO_PARAM))
    return out


def events_after(cursor: str | None) -> int:
    """The ``seq`` an event page starts after (events have positive ``seq``)."""
    after = cursor_seq(cursor)
    return -1 if after is None else after


def text_bytes(text: str | None) -> int:
    """The UTF-8 bytes of a stored text (None: none). An ASCII text, the common case, is
    not encoded to count them: ``isascii`` reads a flag, not the text."""
    if text is None:
        return 0
    return len(text) if text.isascii() else len(text.encode())


def job_bytes(row: Row) -> int:
    """What a job row weighs in a page: the texts it carries (payload, result, last error,
    progress, checkpoint), whose size only the client bounds. Its other fields add a few
    hundred bytes at most. PostgreSQL's ``list_jobs`` counts the same in SQL."""
    return (
        text_bytes(row.payload) + text_bytes(row.result) + text_bytes(row.last_error)
        + text_bytes(row.progress) + text_bytes(row.checkpoint)
    )  # fmt: skip


def event_bytes(row: Row) -> int:
    """What an event row weighs in a page: its error text (``MAX_ERROR_CHARS`` at most)."""
    return text_bytes(row.error)


Page = tuple[Sequence[Row], str | None]
"""The rows of a page, in listing order, and the cursor of the next page (None: last)."""


def page(rows: Iterable[Row], limit: int, max_bytes: int, size: Callable[[Row], int]) -> Page:
    """A page from rows read one at a time in listing order (each with its ``seq``; a lazy
    cursor of ``limit + 1`` rows): up to ``limit`` of them, stopping before the row that
    would take their ``size`` past ``max_bytes``, but always one. The cursor of the next
    page when a row was left. The rows after the one that showed the page full are never
    read, so a page costs its budget plus a row, however many big rows the store holds."""
    kept: list[Row] = []
    total = 0
    for row in rows:
        total += size(row)
        if len(kept) == limit or (kept and total > max_bytes):
            return kept, str(kept[-1].seq)
        kept.append(row)
    return kept, None


def cut_page(rows: Sequence[Row]) -> Page:
    """A page the store cut at its budget itself (PostgreSQL's running sums): the rows
    kept, each with ``measured``, how many rows the store weighed (``limit + 1`` at most).
    Rows weighed but not kept mean there is a next page."""
    if rows and rows[0].measured > len(rows):
        return rows, str(rows[-1].seq)
    return rows, None


def job_listing(kept: Page) -> JobListing:
    """A page of job rows, newest first."""
    rows, cursor = kept
    return JobListing([job_from_row(r) for r in rows], cursor)


def event_listing(kept: Page) -> EventListing:
    """A page of event rows, oldest first."""
    rows, cursor = kept
    return EventListing([event_from_row(r) for r in rows], cursor)


def oldest_age_s(oldest: int | None, now: int) -> float:
    """How long the oldest ready job has waited (``oldest``: its ``run_at``)."""
    return 0.0 if oldest is None or oldest > now else (now - oldest) / 1000


# -- queues --------------------------------------------------------------------------------

KEY_SCAN_ROWS = 1000
"""How far down a queue with a per-key limit a claim looks for jobs whose key has room.
A claim of such a queue reads this many ready jobs at most, whatever the queue holds, so
its cost stays bounded; a key with room whose first job is further down waits until the
jobs ahead of it are taken (or their keys free up)."""


def settings_from_row(row: Row) -> QueueSettings:
    """The settings in a row of ``queues``."""
    rate = None if row.rate_count is None else RateLimit(row.rate_count, row.rate_per_ms)
    return QueueSettings(bool(row.paused), row.concurrency, rate, row.key_concurrency)


def settings_values(settings: QueueSettings) -> dict[str, object]:
    """The columns of ``queues`` that hold ``settings``."""
    rate = settings.rate_limit
    return {
        "paused": settings.paused,
        "concurrency": settings.concurrency,
        "rate_count": None if rate is None else rate.count,
        "rate_per_ms": None if rate is None else rate.per_ms,
        "key_concurrency": settings.key_concurrency,
    }


def queue_infos(
    settings: Mapping[str, QueueSettings], stats: Mapping[str, QueueCounts]
) -> list[QueueInfo]:
    """Every queue that has settings or jobs (counts, from ``stats``), by name."""
    default = QueueSettings()
    return [
        QueueInfo(name, settings.get(name, default), dict(stats[name].counts))
        if name in stats
        else QueueInfo(name, settings[name])
        for name in sorted(settings.keys() | stats.keys())
    ]
