"""Timeouts, cancel of a LEASED job, progress and checkpoints: the pure rules."""

from __future__ import annotations

import random

import pytest
from msgspec.structs import replace

from leaseq.core import transitions as t
from leaseq.core.backoff import Backoff
from leaseq.core.commands import Expire, Heartbeat, TimeOut, reaping
from leaseq.core.model import Action, JobRecord, JobState, NewJob
from leaseq.errors import InvalidTransition, JobCancelled, LeaseLost

NOW = 1_700_000_000_000
BACKOFF = Backoff(1.0, 60.0, random.Random(7))


def leased(timeout_ms: int | None = 10_000, lease_ms: int = 3000, tries: int = 3) -> JobRecord:
    spec = NewJob(payload="{}", max_tries=tries, timeout_ms=timeout_ms)
    return t.lease(t.new_job(spec, "job-1", NOW), NOW, "w1", lease_ms, "tok")


def test_a_poll_lease_stops_at_the_timeout() -> None:
    assert leased(timeout_ms=2000, lease_ms=30_000).lease_expires_at == NOW + 2000
    assert leased(timeout_ms=None, lease_ms=30_000).lease_expires_at == NOW + 30_000


def test_a_heartbeat_never_extends_past_leased_at_plus_timeout() -> None:
    job = leased(timeout_ms=10_000)
    assert t.heartbeat(job, "tok", 3000, NOW + 1000).lease_expires_at == NOW + 4000
    assert t.heartbeat(job, "tok", 3000, NOW + 9000).lease_expires_at == NOW + 10_000
    late = t.heartbeat(job, "tok", 3000, NOW + 12_000)
    assert late.lease_expires_at == NOW + 10_000  # not revived: the reaper fails it


def test_the_reaper_times_out_a_lease_that_ran_to_its_timeout() -> None:
    job = t.heartbeat(leased(timeout_ms=5000), "tok", 3000, NOW + 4000)
    assert t.timed_out(job) and isinstance(reaping(job, BACKOFF), TimeOut)
    failed = TimeOut(job.id, BACKOFF).apply(job, NOW + 5000)
    assert (failed.state, failed.attempts, failed.lease_token) == (JobState.QUEUED, 1, None)
    assert (failed.last_error, failed.last_error_type) == ("timed out after 5 s", "TimedOut")
    assert NOW + 5000 + 500 <= failed.run_at <= NOW + 5000 + 1000  # the fail's backoff
    assert t.event_for(Action.TIMED_OUT, job, failed).kind is Action.TIMED_OUT


def test_a_time_out_on_the_last_try_is_dead() -> None:
    job = leased(timeout_ms=1000, tries=1)
    dead = t.time_out(job, NOW + 1000, BACKOFF)
    assert dead.state is JobState.DEAD
    assert t.event_for(Action.TIMED_OUT, job, dead).kind is Action.TIMED_OUT


def test_a_lease_that_ran_out_early_is_a_plain_expiry() -> None:
    job = leased(timeout_ms=10_000, lease_ms=3000)
    assert not t.timed_out(job) and isinstance(reaping(job, BACKOFF), Expire)
    with pytest.raises(InvalidTransition):
        t.time_out(job, NOW + 3000, BACKOFF)
    with pytest.raises(InvalidTransition):  # not expired yet
        t.time_out(leased(timeout_ms=1000), NOW + 999, BACKOFF)


def test_cancel_of_a_leased_job_tells_its_holder_job_cancelled() -> None:
    job = t.cancel(leased(), NOW + 5)
    assert (job.state, job.lease_owner, job.lease_expires_at) == (JobState.CANCELLED, "w1", None)
    event = t.event_for(Action.CANCELLED, leased(), job)
    assert (event.kind, event.worker_id) == (Action.CANCELLED, "w1")
    moves = [
        lambda: t.heartbeat(job, "tok", 1000, NOW),
        lambda: t.ack(job, "tok", None, NOW),
        lambda: t.fail(job, "tok", "e", True, NOW, BACKOFF),
        lambda: t.release(job, "tok", NOW),
    ]
    for move in moves:
        with pytest.raises(JobCancelled):
            move()
    with pytest.raises(LeaseLost) as other:  # another token: an ordinary lost lease
        t.ack(job, "old", None, NOW)
    assert not isinstance(other.value, JobCancelled)
    with pytest.raises(InvalidTransition):
        t.cancel(job, NOW)


def test_progress_belongs_to_the_attempt_and_the_checkpoint_to_the_job() -> None:
    job = t.heartbeat(leased(), "tok", 1000, NOW + 1, progress='{"n":1}', checkpoint='"p1"')
    same = t.heartbeat(job, "tok", 1000, NOW + 2)  # None: both left as they are
    assert (same.progress, same.checkpoint) == ('{"n":1}', '"p1"')
    failed = t.fail(same, "tok", "boom", True, NOW + 3, BACKOFF, checkpoint='"p2"')
    again = t.lease(replace(failed, run_at=NOW), NOW + 5000, "w2", 1000, "tok2")
    assert (again.progress, again.checkpoint) == (None, '"p2"')


def test_only_a_heartbeat_that_saves_a_checkpoint_is_recorded_as_one() -> None:
    assert Heartbeat("j", "tok", 1000).action is Action.HEARTBEAT
    assert Heartbeat("j", "tok", 1000, progress="1").action is Action.HEARTBEAT
    assert Heartbeat("j", "tok", 1000, checkpoint="1").action is Action.CHECKPOINTED
