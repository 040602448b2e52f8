"""The ``jobs`` table on SQLite: enqueue, claim, the guarded write behind ``modify``,
lease expiry, purge, and the reads of jobs.

The writes run on the writer's connection inside the writer's transaction and never
commit; each records its events (``events``) and count changes (``counts``) in the same
transaction, so they commit together with the rows or not at all.
"""

from __future__ import annotations

import contextlib
import functools
import sqlite3
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence

from leaseq.core.backoff import Backoff
from leaseq.core.commands import Command, reaping
from leaseq.core.model import Action, JobFilter, JobIds, JobListing, JobRecord, JobState, NewJob
from leaseq.core.queues import HeldBack
from leaseq.core.transitions import event_for
from leaseq.errors import LeaseLost, LeaseqError
from leaseq.server.storage import common, queries
from leaseq.server.storage.base import Claimed, apply_commands
from leaseq.server.storage.sqlite import counts, events, workers
from leaseq.server.storage.sqlite import queues as queues_

Q = queries.load("leaseq.server.storage.sqlite")

_MUTABLE = (
    "state", "attempts", "run_at", "lease_owner", "lease_token", "lease_expires_at",
    "last_error", "result", "updated_at", "leased_at", "idempotency_key",
    "last_error_type", "last_error_message",
    "progress", "checkpoint",
)  # fmt: skip
"""The columns a transition may change; the others are written once, by the insert.
(``idempotency_key``: a job held it only while active and has finished.)"""

_IDS_PER_READ = 500
"""Ids per ``IN`` list, well under SQLite's limit of bound parameters."""


def job_values(job: JobRecord) -> tuple[object, ...]:
    """The parameters of ``insert_job``: the job's fields in column order."""
    return (
        job.id, job.queue, job.task, job.payload, job.state.value, job.priority,
        job.attempts, job.max_tries, job.run_at, job.lease_owner, job.lease_token,
        job.lease_expires_at, job.last_error, job.result, job.idempotency_key,
        job.created_at, job.updated_at, job.leased_at, job.concurrency_key,
        job.idempotency_scope.value, job.last_error_type, job.last_error_message,
        common.tags_json(job.tags), job.traceparent,
        job.timeout_ms, job.progress, job.checkpoint,
    )  # fmt: skip


def _marks(n: int) -> str:
    return ", ".join("?" * n)


# -- writes --------------------------------------------------------------------------------


def enqueue(
    conn: sqlite3.Connection, specs: Sequence[NewJob], ids: JobIds, now: int
) -> list[tuple[JobRecord, bool]]:
    plan = common.plan_enqueue(specs, ids, now)
    existing: dict[common.IdempotencyKey, JobRecord] = {}
    for job in plan.keyed:
        row = conn.execute(Q["job_by_key"], (job.queue, job.idempotency_key)).fetchone()
        if row is not None:
            existing[job.queue, job.idempotency_key] = common.job_from_row(row)
    created = [j for j in plan.jobs if (j.queue, j.idempotency_key) not in existing]
    # One executemany: SQLite's loop over the rows, not Python's.
    conn.executemany(Q["insert_job"], [job_values(j) for j in created])
    conn.executemany(Q["insert_tags"], [(j.id,) for j in created if j.tags])
    events.record(conn, [event_for(Action.ENQUEUED, None, j) for j in created])
    counts.add(conn, Counter((j.queue, JobState.QUEUED.value) for j in created))
    return plan.answers({j.id for j in created}, existing)


def claim(
    conn: sqlite3.Connection,
    queues: Sequence[str],
    owner: str,
    n: int,
    lease_ms: int,
    now: int,
    max_bytes: int,
    concurrency: int | None = None,
) -> Claimed:
    names = list(dict.fromkeys(queues))
    workers.touch(conn, owner, now, names, concurrency)
    limits = queues_.limited(conn, names)
    candidates: list[common.Row] = []
    held: dict[str, HeldBack] = {}
    for queue in names:
        if (settings := limits.get(queue)) is None:
            candidates += conn.execute(Q["ready"], (queue, now, n))
            continue
        heads = queues_.heads(conn, queue, settings, n, now)
        candidates += heads.rows
        if heads.held is not None:
            held[queue] = heads.held
    # Each queue's rows arrive in poll order; merging the per-queue heads keeps the
    # work proportional to n times the number of queues, whatever the store holds.
    candidates.sort(key=common.poll_order)
    jobs = _lease(conn, [row.seq for row in candidates[:n]], owner, lease_ms, now, max_bytes)
    if not jobs:
        return Claimed((), held)
    events.record(conn, [event_for(Action.LEASED, None, j) for j in jobs])
    taken = Counter(job.queue for job in jobs)
    counts.add(conn, _lease_deltas(taken))
    if limits:
        queues_.log_leases(conn, limits, taken, now)
    return Claimed(jobs, held if len(jobs) < n else None)


def _lease(
    conn: sqlite3.Connection, seqs: list[int], owner: str, lease_ms: int, now: int, max_bytes: int
) -> list[JobRecord]:
    """Leases the jobs ``seqs`` (in poll order) within the byte budget. The payloads are
    only known once read, so the update runs inside a savepoint and, in the rare case
    that the answer would be too big, is rolled back and run again on the prefix that
    fits: the common case pays one savepoint, not a read of every payload first."""
    if not seqs:
        return []
    order = {seq: i for i, seq in enumerate(seqs)}
    conn.execute("SAVEPOINT lease")
    rows = _lease_rows(conn, seqs, owner, lease_ms, now)
    rows.sort(key=lambda row: order[row.seq])
    # A leased job carries its payload, the last attempt's error (a retry's traceback)
    # and the checkpoint it resumes from.
    texts = [row.payload + (row.last_error or "") + (row.checkpoint or "") for row in rows]
    keep = common.within_budget(texts, max_bytes)
    if keep < len(rows):
        conn.execute("ROLLBACK TO lease")
        rows = _lease_rows(conn, [row.seq for row in rows[:keep]], owner, lease_ms, now)
        rows.sort(key=lambda row: order[row.seq])
    conn.execute("RELEASE lease")
    return [common.job_from_row(row) for row in rows]


def _lease_rows(
    conn: sqlite3.Connection, seqs: list[int], owner: str, lease_ms: int, now: int
) -> list[common.Row]:
    lease = queries.fill(Q["lease"], seqs=_marks(len(seqs)))
    params = (owner, now, lease_ms, lease_ms, now, now, *seqs)
    return conn.execute(lease, params).fetchall()


def _lease_deltas(taken: Counter[str]) -> Counter[tuple[str, str]]:
    deltas: Counter[tuple[str, str]] = Counter()
    for queue, k in taken.items():
        deltas[queue, JobState.QUEUED.value] -= k
        deltas[queue, JobState.LEASED.value] += k
    return deltas


def modify(
    conn: sqlite3.Connection, commands: Sequence[Command], now: int
) -> tuple[list[JobRecord | LeaseqError], list[str]]:
    ids = list({c.job_id for c in commands})
    current: dict[str, JobRecord] = {}
    for start in range(0, len(ids), _IDS_PER_READ):
        chunk = ids[start : start + _IDS_PER_READ]
        rows = conn.execute(queries.fill(Q["jobs_by_ids"], ids=_marks(len(chunk))), chunk)
        current.update((row.id, common.job_from_row(row)) for row in rows)
    return transition(conn, current, commands, now)


def expire(
    conn: sqlite3.Connection, limit: int, now: int, backoff: Backoff
) -> tuple[list[JobRecord], list[str]]:
    current = {row.id: common.job_from_row(row) for row in conn.execute(Q["expired"], (now, limit))}
    expiries = [reaping(job, backoff) for job in current.values()]
    answers, freed = transition(conn, current, expiries, now)
    return [j for j in answers if isinstance(j, JobRecord)], freed


def purge(conn: sqlite3.Connection, cutoff: int, limit: int) -> int:
    rows = conn.execute(Q["purge_jobs"], (cutoff, limit)).fetchall()
    events.purge(conn, [row.id for row in rows])
    tagged = [row for row in rows if row.tags is not None]
    conn.executemany(
        Q["purge_tags"],
        [(tag, row.seq) for row in tagged for tag in common.tags_from_json(row.tags)],
    )
    workers.purge(conn, cutoff)
    deltas: Counter[tuple[str, str]] = Counter()
    for row in rows:
        deltas[row.queue, row.state] -= 1
    counts.add(conn, deltas)
    return len(rows)


def transition(
    conn: sqlite3.Connection, current: dict[str, JobRecord], commands: Sequence[Command], now: int
) -> tuple[list[JobRecord | LeaseqError], list[str]]:
    """Applies the commands (``apply_commands``), then writes every changed job with its
    events and count changes. Also answers the limited queues that a job left LEASED
    in: a slot freed there, which wakes their long polls."""
    applied = apply_commands(current, commands, now)
    writes = applied.writes
    deltas: Counter[tuple[str, str]] = Counter()
    for old, new in writes.values():
        if old.state is not new.state:
            deltas[new.queue, old.state.value] -= 1
            deltas[new.queue, new.state.value] += 1
    counts.add(conn, deltas)
    if _write(conn, writes.values()) != len(writes):  # cannot happen under one writer: a fence
        raise LeaseLost("a job changed underneath the writer; nothing was applied")
    events.record(conn, applied.events)
    left = {new.queue for old, new in writes.values() if old.state is JobState.LEASED
            and new.state is not JobState.LEASED}  # fmt: skip
    return applied.answers, list(queues_.limited(conn, left))


@functools.lru_cache(maxsize=128)
def _update_sql(columns: tuple[str, ...]) -> str:
    """``update_job`` setting just these columns."""
    return queries.fill(Q["update_job"], sets=", ".join(f"{c} = ?" for c in columns))


def _write(conn: sqlite3.Connection, writes: Iterable[tuple[JobRecord, JobRecord]]) -> int:
    """Writes each (as read, as it must be stored) pair guarded on what was read, one
    ``executemany`` per set of changed columns; returns the rows written."""
    groups: dict[tuple[str, ...], list[tuple[object, ...]]] = defaultdict(list)
    for old, new in writes:
        columns = tuple(c for c in _MUTABLE if getattr(old, c) != getattr(new, c))
        values = [getattr(new, c) for c in columns]
        groups[columns].append((*values, old.id, old.state.value, old.lease_token))
    # A transition may leave every column as it was (a heartbeat in the same millisecond
    # as its lease): nothing to write, and an empty SET would not even parse.
    unchanged = len(groups.pop((), ()))
    return unchanged + sum(
        conn.executemany(_update_sql(cols), rows).rowcount for cols, rows in groups.items()
    )


# -- reads ---------------------------------------------------------------------------------


def get(conn: sqlite3.Connection, job_id: str) -> JobRecord | None:
    row = conn.execute(Q["get_job"], (job_id,)).fetchone()
    return None if row is None else common.job_from_row(row)


def list_jobs(
    conn: sqlite3.Connection,
    state: JobState | None,
    queue: str | None,
    limit: int,
    cursor: str | None,
    max_bytes: int,
    match: JobFilter | None,
    now: int,
) -> JobListing:
    """The rows are read one at a time and the reading stops at the page's budget
    (``common.page``), so a page of big jobs reads its budget and one row more, not
    ``limit`` rows. (SQLite before 3.43 has no ``octet_length`` to weigh a text without
    reading it, so PostgreSQL's weigh-then-fetch would read every row twice.)"""
    found = common.listing_filter(state, queue, cursor, "?", match, ("?", now))
    query = queries.fill(Q["list_jobs"], source=found.source, where=found.where, seq=found.seq)
    with contextlib.closing(conn.execute(query, (*found.params, limit + 1))) as rows:
        return common.job_listing(common.page(rows, limit, max_bytes, common.job_bytes))


def next_ready_in(conn: sqlite3.Connection, queues: Sequence[str], now: int) -> float | None:
    firsts = [conn.execute(Q["first_scheduled"], (q, now)).fetchone().first for q in queues]
    waits = [f - now for f in firsts if f is not None]
    waits += queues_.rate_frees_in(conn, queues, now)
    return min(waits) / 1000 if waits else None
