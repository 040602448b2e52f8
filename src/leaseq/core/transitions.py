"""The lease state machine, as pure functions of a job and the time ``now`` (ms).

Each function returns the job as it must be stored next, or raises the domain error that
says why the move is refused. Storage applies the returned job in one guarded write, so
these rules are the single source of truth and are tested without any I/O.
"""

from __future__ import annotations

from msgspec.structs import replace

from leaseq.core.backoff import Backoff
from leaseq.core.model import Action, EventRecord, IdempotencyScope, JobRecord, JobState, NewJob
from leaseq.errors import InvalidTransition, JobCancelled, LeaseLost

LEASE_EXPIRED = "lease expired"
TIMED_OUT = "TimedOut"
"""The ``last_error_type`` of an attempt the reaper failed for passing its timeout."""


def new_job(spec: NewJob, job_id: str, now: int) -> JobRecord:
    """A freshly enqueued job: QUEUED, runnable at ``run_at`` or ``now + delay``."""
    run_at = spec.run_at if spec.run_at is not None else now + spec.delay_ms
    return JobRecord(
        id=job_id,
        queue=spec.queue,
        task=spec.task,
        payload=spec.payload,
        state=JobState.QUEUED,
        priority=spec.priority,
        attempts=0,
        max_tries=spec.max_tries,
        run_at=run_at,
        lease_owner=None,
        lease_token=None,
        lease_expires_at=None,
        last_error=None,
        result=None,
        idempotency_key=spec.idempotency_key,
        created_at=now,
        updated_at=now,
        concurrency_key=spec.concurrency_key,
        idempotency_scope=spec.idempotency_scope,
        timeout_ms=spec.timeout_ms,
        tags=tuple(dict.fromkeys(spec.tags)),  # a tag given twice is one tag
        traceparent=spec.traceparent,
    )


def lease(job: JobRecord, now: int, owner: str, lease_ms: int, token: str) -> JobRecord:
    """A poll takes a ready job: one more attempt, a fresh token, an expiry.

    Storage claims many jobs in one set-based statement; this function is the
    specification that statement must match (the conformance suite checks it).
    """
    if job.state is not JobState.QUEUED or job.run_at > now:
        raise InvalidTransition(f"job {job.id} is not ready to lease")
    return replace(
        job,
        state=JobState.LEASED,
        attempts=job.attempts + 1,
        lease_owner=owner,
        lease_token=token,
        lease_expires_at=now + min(lease_ms, job.timeout_ms or lease_ms),
        updated_at=now,
        leased_at=now,
        progress=None,
    )


def _require_lease(job: JobRecord, token: str) -> None:
    if job.state is JobState.CANCELLED and job.lease_token == token:
        raise JobCancelled(f"job {job.id} was cancelled while this lease held it")
    if job.state is not JobState.LEASED or job.lease_token != token:
        raise LeaseLost(
            f"lease lost on job {job.id}: it is {job.state} "
            + ("under another lease" if job.state is JobState.LEASED else "now")
        )


def ack(job: JobRecord, token: str, result: str | None, now: int) -> JobRecord:
    """LEASED -> DONE. Repeating the ack that completed the job returns it unchanged,
    because the first answer may have been lost on the way back to the worker."""
    if job.state is JobState.DONE and job.lease_token == token:
        return job
    _require_lease(job, token)
    return _finished(
        replace(job, state=JobState.DONE, result=result, lease_expires_at=None, updated_at=now)
    )


def fail(
    job: JobRecord,
    token: str,
    error: str | None,
    retry: bool,
    now: int,
    backoff: Backoff,
    *,
    error_type: str | None = None,
    error_message: str | None = None,
    checkpoint: str | None = None,
) -> JobRecord:
    """LEASED -> QUEUED after a backoff delay while tries remain, else DEAD. The three
    error fields are overwritten together, so none of them outlives the failure it
    describes. A ``checkpoint`` given is kept for the next attempt."""
    _require_lease(job, token)
    if checkpoint is not None:
        job = replace(job, checkpoint=checkpoint)
    return _failed(job, now, backoff, retry, error, error_type, error_message)


def _failed(
    job: JobRecord,
    now: int,
    backoff: Backoff,
    retry: bool,
    error: str | None,
    error_type: str | None,
    error_message: str | None,
) -> JobRecord:
    failed = replace(
        _unleased(job, now),
        last_error=error,
        last_error_type=error_type,
        last_error_message=error_message,
    )
    if retry and job.attempts < job.max_tries:
        return replace(failed, state=JobState.QUEUED, run_at=now + backoff.delay_ms(job.attempts))
    return _finished(replace(failed, state=JobState.DEAD))


def heartbeat(
    job: JobRecord,
    token: str,
    lease_ms: int,
    now: int,
    progress: str | None = None,
    checkpoint: str | None = None,
) -> JobRecord:
    """Extends a live lease to ``now + lease_ms``, but never past the attempt's timeout
    (``leased_at + timeout_ms``), and stores the ``progress`` and ``checkpoint`` given
    (None: unchanged). A lease past its timeout is not extended: the reaper fails it."""
    _require_lease(job, token)
    expires = now + lease_ms
    if job.timeout_ms is not None and job.leased_at is not None:
        expires = min(expires, job.leased_at + job.timeout_ms)
    return replace(
        job,
        lease_expires_at=expires,
        updated_at=now,
        progress=job.progress if progress is None else progress,
        checkpoint=job.checkpoint if checkpoint is None else checkpoint,
    )


def release(job: JobRecord, token: str, now: int) -> JobRecord:
    """LEASED -> QUEUED at once, the attempt not counted: the worker gave the job back
    without running it to the end (it is shutting down)."""
    _require_lease(job, token)
    return replace(
        _unleased(job, now), state=JobState.QUEUED, attempts=job.attempts - 1, run_at=now
    )


def expire(job: JobRecord, now: int) -> JobRecord:
    """The reaper's move for a lease that ran out: back to QUEUED, runnable now, or DEAD
    on the last try, so a job that kills its worker every time ends in the DLQ."""
    if job.state is not JobState.LEASED or (job.lease_expires_at or 0) > now:
        raise InvalidTransition(f"job {job.id} holds no expired lease")
    # No exception was seen, so there is no type or message: the text alone says it.
    expired = replace(
        _unleased(job, now),
        last_error=LEASE_EXPIRED,
        last_error_type=None,
        last_error_message=None,
    )
    if job.attempts >= job.max_tries:
        return _finished(replace(expired, state=JobState.DEAD))
    return replace(expired, state=JobState.QUEUED, run_at=now)


def timed_out(job: JobRecord) -> bool:
    """Whether an expired lease ran to the attempt's timeout (its expiry was capped
    there) rather than running out because its worker stopped beating."""
    return (
        job.timeout_ms is not None
        and job.leased_at is not None
        and (job.lease_expires_at or 0) >= job.leased_at + job.timeout_ms
    )


def time_out(job: JobRecord, now: int, backoff: Backoff) -> JobRecord:
    """The reaper's move for an attempt that passed its timeout: failed as a fail would
    fail it (retried after a backoff delay while tries remain, else DEAD)."""
    if job.state is not JobState.LEASED or (job.lease_expires_at or 0) > now:
        raise InvalidTransition(f"job {job.id} holds no expired lease")
    if not timed_out(job):
        raise InvalidTransition(f"job {job.id} did not pass its timeout")
    error = f"timed out after {(job.timeout_ms or 0) / 1000:g} s"
    return _failed(job, now, backoff, True, error, TIMED_OUT, error)


def requeue(job: JobRecord, now: int) -> JobRecord:
    """DEAD -> QUEUED with a fresh set of tries, runnable now."""
    if job.state is not JobState.DEAD:
        raise InvalidTransition(f"job {job.id} is {job.state}, only DEAD jobs are requeued")
    return replace(job, state=JobState.QUEUED, attempts=0, run_at=now, updated_at=now)


def cancel(job: JobRecord, now: int) -> JobRecord:
    """QUEUED, LEASED or DEAD -> CANCELLED at once. A LEASED job keeps its holder and
    token (its lease no longer runs out), so the holder's next call is told
    ``job_cancelled`` rather than ``lease_lost``. DONE and CANCELLED are refused."""
    if job.state not in (JobState.QUEUED, JobState.LEASED, JobState.DEAD):
        raise InvalidTransition(f"job {job.id} is {job.state} and cannot be cancelled")
    return _finished(replace(job, state=JobState.CANCELLED, lease_expires_at=None, updated_at=now))


def _finished(job: JobRecord) -> JobRecord:
    """A job that reached DONE, DEAD or CANCELLED gives its idempotency key back when
    it held it only while active (``IdempotencyScope.ACTIVE``): the key is cleared in
    the same guarded write, so the unique index on (queue, key) frees it with no rule of
    its own, and a requeue of the DEAD job later takes no key it could collide on."""
    if job.idempotency_scope is IdempotencyScope.ACTIVE and job.idempotency_key is not None:
        return replace(job, idempotency_key=None)
    return job


def _unleased(job: JobRecord, now: int) -> JobRecord:
    return replace(job, lease_owner=None, lease_token=None, lease_expires_at=None, updated_at=now)


_WORKER_FAULTS = (Action.FAILED, Action.DEAD, Action.EXPIRED, Action.TIMED_OUT)


def event_for(action: Action, old: JobRecord | None, new: JobRecord) -> EventRecord:
    """The history line a stored transition leaves. A fail that buries the job is
    recorded as DEAD; an expiry or a time-out keeps its own kind whatever state it leads
    to. A cancel names the worker that held the job, if one did."""
    kind = Action.DEAD if action is Action.FAILED and new.state is JobState.DEAD else action
    return EventRecord(
        job_id=new.id,
        at=new.updated_at,
        kind=kind,
        state=new.state,
        worker_id=(old.lease_owner if old is not None else None) or new.lease_owner,
        attempt=old.attempts if old is not None and action is Action.RELEASED else new.attempts,
        error=new.last_error if kind in _WORKER_FAULTS else None,
    )


def worker_seen(event: EventRecord) -> bool:
    """Whether the event shows its worker alive (an expiry shows the opposite)."""
    return event.worker_id is not None and event.kind not in (
        Action.EXPIRED,
        Action.TIMED_OUT,
        Action.REQUEUED,
        Action.CANCELLED,
        Action.ENQUEUED,
    )


def worker_tally(event: EventRecord) -> tuple[int, int]:
    """(done, failed) this event adds to its worker's counters."""
    return (int(event.kind is Action.DONE), int(event.kind in _WORKER_FAULTS))
