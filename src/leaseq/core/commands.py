"""Transitions as values: what a caller asks to happen to one job, and the event it leaves.

A command binds the arguments of one rule of ``leaseq.core.transitions`` to the job it
names. Storage reads the job, calls ``command.apply(job, now)`` at its own ``now`` and
writes the result guarded on what it read, recording ``command.action``; so the lease
token a caller presented stays visible on the value (River passes parameter structs to
its driver the same way), and the action recorded can never disagree with the rule.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar, Protocol

from leaseq.core import transitions
from leaseq.core.backoff import Backoff
from leaseq.core.model import Action, JobRecord


class Command(Protocol):
    """One requested move of the job ``job_id``. ``apply`` returns the job as it must be
    stored next (the same object when nothing changes, which writes nothing) or raises
    the ``LeaseqError`` that refuses the move."""

    @property
    def job_id(self) -> str: ...

    @property
    def action(self) -> Action: ...

    def apply(self, job: JobRecord, now: int) -> JobRecord: ...


@dataclass(frozen=True, slots=True)
class Ack:
    """LEASED -> DONE, fenced by the lease token; repeating a completed ack is a no-op."""

    job_id: str
    lease_token: str
    result: str | None = None
    action: ClassVar[Action] = Action.DONE

    def apply(self, job: JobRecord, now: int) -> JobRecord:
        return transitions.ack(job, self.lease_token, self.result, now)


@dataclass(frozen=True, slots=True)
class Fail:
    """LEASED -> QUEUED after ``backoff`` while tries remain and ``retry``, else DEAD."""

    job_id: str
    lease_token: str
    error: str | None
    retry: bool
    backoff: Backoff
    error_type: str | None = None
    """The exception's class name, when the worker sent it apart from ``error``."""
    error_message: str | None = None
    checkpoint: str | None = None
    """JSON text to resume from, kept for the next attempt (None: the one stored stays)."""
    action: ClassVar[Action] = Action.FAILED

    def apply(self, job: JobRecord, now: int) -> JobRecord:
        return transitions.fail(
            job,
            self.lease_token,
            self.error,
            self.retry,
            now,
            self.backoff,
            error_type=self.error_type,
            error_message=self.error_message,
            checkpoint=self.checkpoint,
        )


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """Extends a live lease to ``now + lease_ms`` (never past the attempt's timeout), and
    stores the attempt's ``progress`` and the job's ``checkpoint`` when given."""

    job_id: str
    lease_token: str
    lease_ms: int
    progress: str | None = None
    checkpoint: str | None = None

    @property
    def action(self) -> Action:
        """The history records checkpoints, not each progress update."""
        return Action.HEARTBEAT if self.checkpoint is None else Action.CHECKPOINTED

    def apply(self, job: JobRecord, now: int) -> JobRecord:
        return transitions.heartbeat(
            job, self.lease_token, self.lease_ms, now, self.progress, self.checkpoint
        )


@dataclass(frozen=True, slots=True)
class Release:
    """LEASED -> QUEUED at once, the attempt not counted."""

    job_id: str
    lease_token: str
    action: ClassVar[Action] = Action.RELEASED

    def apply(self, job: JobRecord, now: int) -> JobRecord:
        return transitions.release(job, self.lease_token, now)


@dataclass(frozen=True, slots=True)
class Expire:
    """The reaper's move for a lease that ran out (no token: nobody holds it any more)."""

    job_id: str
    action: ClassVar[Action] = Action.EXPIRED

    def apply(self, job: JobRecord, now: int) -> JobRecord:
        return transitions.expire(job, now)


@dataclass(frozen=True, slots=True)
class TimeOut:
    """The reaper's move for an attempt that passed its timeout: failed with ``backoff``
    as a fail would be, with the error "timed out after N s"."""

    job_id: str
    backoff: Backoff
    action: ClassVar[Action] = Action.TIMED_OUT

    def apply(self, job: JobRecord, now: int) -> JobRecord:
        return transitions.time_out(job, now, self.backoff)


def reaping(job: JobRecord, backoff: Backoff) -> Expire | TimeOut:
    """The reaper's command for a job whose lease ran out: a time-out when the lease ran
    to the attempt's timeout, else a plain expiry."""
    return TimeOut(job.id, backoff) if transitions.timed_out(job) else Expire(job.id)


@dataclass(frozen=True, slots=True)
class Requeue:
    """DEAD -> QUEUED with a fresh set of tries."""

    job_id: str
    action: ClassVar[Action] = Action.REQUEUED

    def apply(self, job: JobRecord, now: int) -> JobRecord:
        return transitions.requeue(job, now)


@dataclass(frozen=True, slots=True)
class Cancel:
    """QUEUED, LEASED or DEAD -> CANCELLED, by an operator."""

    job_id: str
    action: ClassVar[Action] = Action.CANCELLED

    def apply(self, job: JobRecord, now: int) -> JobRecord:
        return transitions.cancel(job, now)
