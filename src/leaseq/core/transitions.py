"""The lease state machine, as pure functions of a job and the time ``now`` (ms).

Each function returns the job as it must be stored next, or raises the domain error that
says why the move is refused. Storage applies the returned job in one guarded write, so
these rules are the single source of truth and are tested without any I/O.
"""

from __future__ import annotations

from msgspec.structs import replace

from leaseq.core.backoff import Backoff
from leaseq.core.model import Action, EventRecord, IdempotencyScope, JobRecord, JobState, NewJob
from leaseq.errors import InvalidTransition, LeaseLost

LEASE_EXPIRED = "lease expired"


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
        lease_expires_at=now + lease_ms,
        updated_at=now,
        leased_at=now,
    )


def _require_lease(job: JobRecord, token: str) -> None:
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
) -> JobRecord:
    """LEASED -> QUEUED after a backoff delay while tries remain, else DEAD. The three
    error fields are overwritten together, so none of them outlives the failure it
    describes."""
    _require_lease(job, token)
    failed = replace(
        _unleased(job, now),
        last_error=error,
        last_error_type=error_type,
        last_error_message=error_message,
    )
    if retry and job.attempts < job.max_tries:
        return replace(failed, state=JobState.QUEUED, run_at=now + backoff.delay_ms(job.attempts))
    return _finished(replace(failed, state=JobState.DEAD))


def heartbeat(job: JobRecord, token: str, lease_ms: int, now: int) -> JobRecord:
    """Extends a live lease to ``now + lease_ms``."""
    _require_lease(job, token)
    return replace(job, lease_expires_at=now + lease_ms, updated_at=now)


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


def requeue(job: JobRecord, now: int) -> JobRecord:
    """DEAD -> QUEUED with a fresh set of tries, runnable now."""
    if job.state is not JobState.DEAD:
        raise InvalidTransition(f"job {job.id} is {job.state}, only DEAD jobs are requeued")
    return replace(job, state=JobState.QUEUED, attempts=0, run_at=now, updated_at=now)


def cancel(job: JobRecord, now: int) -> JobRecord:
    """QUEUED or DEAD -> CANCELLED. A LEASED job is refused: its worker holds it."""
    if job.state not in (JobState.QUEUED, JobState.DEAD):
        raise InvalidTransition(f"job {job.id} is {job.state} and cannot be cancelled")
    return _finished(replace(job, state=JobState.CANCELLED, updated_at=now))


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


_WORKER_FAULTS = (Action.FAILED, Action.DEAD, Action.EXPIRED)


def event_for(action: Action, old: JobRecord | None, new: JobRecord) -> EventRecord:
    """The history line a stored transition leaves. A fail that buries the job is
    recorded as DEAD; an expiry keeps its own kind whatever state it leads to."""
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
        Action.REQUEUED,
        Action.CANCELLED,
        Action.ENQUEUED,
    )


def worker_tally(event: EventRecord) -> tuple[int, int]:
    """(done, failed) this event adds to its worker's counters."""
    return (int(event.kind is Action.DONE), int(event.kind in _WORKER_FAULTS))
