"""The lease state machine, exhaustively and without I/O."""

from __future__ import annotations

import random

import pytest
from msgspec.structs import replace

from leaseq.core import transitions as t
from leaseq.core.backoff import Backoff
from leaseq.core.model import JobRecord, JobState, NewJob
from leaseq.errors import InvalidTransition, LeaseLost

NOW = 1_700_000_000_000
BACKOFF = Backoff(1.0, 60.0, random.Random(7))


def queued(**changes: object) -> JobRecord:
    job = t.new_job(NewJob(payload='{"a":1}', max_tries=3), "job-1", NOW)
    return replace(job, **changes)


def leased(attempts: int = 1, token: str = "tok") -> JobRecord:
    return t.lease(queued(attempts=attempts - 1), NOW, "w1", 30_000, token)


def test_new_job_runs_now_or_after_delay_or_at_run_at() -> None:
    assert t.new_job(NewJob(payload="1"), "a", NOW).run_at == NOW
    assert t.new_job(NewJob(payload="1", delay_ms=5000), "a", NOW).run_at == NOW + 5000
    assert t.new_job(NewJob(payload="1", run_at=NOW + 9), "a", NOW).run_at == NOW + 9
    job = t.new_job(NewJob(payload="1"), "a", NOW)
    assert (job.state, job.attempts, job.lease_token) == (JobState.QUEUED, 0, None)


def test_lease_counts_an_attempt_and_sets_token_and_expiry() -> None:
    job = t.lease(queued(), NOW, "w1", 30_000, "tok")
    assert job.state is JobState.LEASED
    assert (job.attempts, job.lease_owner, job.lease_token) == (1, "w1", "tok")
    assert job.lease_expires_at == NOW + 30_000


def test_lease_refuses_a_delayed_job() -> None:
    with pytest.raises(InvalidTransition):
        t.lease(queued(run_at=NOW + 1), NOW, "w1", 1000, "tok")


def test_ack_needs_the_current_token() -> None:
    done = t.ack(leased(), "tok", '"ok"', NOW + 5)
    assert (done.state, done.result, done.lease_expires_at) == (JobState.DONE, '"ok"', None)
    with pytest.raises(LeaseLost, match="lease lost"):
        t.ack(leased(), "stale", None, NOW)


def test_repeated_ack_with_the_completing_token_is_idempotent() -> None:
    done = t.ack(leased(), "tok", "1", NOW)
    assert t.ack(done, "tok", "1", NOW + 10) is done
    with pytest.raises(LeaseLost):
        t.ack(done, "other", "1", NOW)


@pytest.mark.parametrize("state", [JobState.QUEUED, JobState.DEAD, JobState.CANCELLED])
def test_ack_fail_heartbeat_refuse_jobs_not_leased(state: JobState) -> None:
    job = queued(state=state, lease_token="tok")
    with pytest.raises(LeaseLost):
        t.ack(job, "tok", None, NOW)
    with pytest.raises(LeaseLost):
        t.fail(job, "tok", "e", True, NOW, BACKOFF)
    with pytest.raises(LeaseLost):
        t.heartbeat(job, "tok", 1000, NOW)


def test_fail_and_heartbeat_refuse_a_done_job_even_with_its_token() -> None:
    done = t.ack(leased(), "tok", None, NOW)
    with pytest.raises(LeaseLost):
        t.fail(done, "tok", "e", True, NOW, BACKOFF)
    with pytest.raises(LeaseLost):
        t.heartbeat(done, "tok", 1000, NOW)


@pytest.mark.parametrize("attempts", [1, 2])
def test_fail_with_tries_left_requeues_inside_the_backoff_window(attempts: int) -> None:
    job = t.fail(leased(attempts), "tok", "boom", True, NOW, BACKOFF)
    assert (job.state, job.last_error, job.lease_token) == (JobState.QUEUED, "boom", None)
    ceiling = 1000 * 2 ** (attempts - 1)
    assert NOW + ceiling / 2 <= job.run_at <= NOW + ceiling


def test_fail_on_last_try_or_without_retry_is_dead() -> None:
    assert t.fail(leased(3), "tok", "e", True, NOW, BACKOFF).state is JobState.DEAD
    job = t.fail(leased(1), "tok", "bad input", False, NOW, BACKOFF)
    assert (job.state, job.last_error) == (JobState.DEAD, "bad input")


def test_heartbeat_extends_the_lease() -> None:
    job = t.heartbeat(leased(), "tok", 60_000, NOW + 1000)
    assert job.lease_expires_at == NOW + 61_000
    assert job.state is JobState.LEASED


def test_release_gives_the_attempt_back() -> None:
    job = t.release(leased(2), "tok", NOW + 7)
    assert (job.state, job.attempts, job.run_at, job.lease_token) == (
        JobState.QUEUED, 1, NOW + 7, None,
    )  # fmt: skip


def test_expire_requeues_or_kills_on_the_last_try() -> None:
    later = NOW + 30_000
    job = t.expire(leased(1), later)
    assert (job.state, job.last_error, job.run_at) == (JobState.QUEUED, "lease expired", later)
    assert t.expire(leased(3), later).state is JobState.DEAD
    with pytest.raises(InvalidTransition):
        t.expire(leased(1), NOW + 10)  # still live


def test_requeue_only_from_dead_and_resets_attempts() -> None:
    dead = t.fail(leased(3), "tok", "e", True, NOW, BACKOFF)
    job = t.requeue(dead, NOW + 1)
    assert (job.state, job.attempts, job.run_at) == (JobState.QUEUED, 0, NOW + 1)
    with pytest.raises(InvalidTransition):
        t.requeue(queued(), NOW)


@pytest.mark.parametrize(
    ("state", "allowed"),
    [(JobState.QUEUED, True), (JobState.DEAD, True), (JobState.LEASED, True),
     (JobState.DONE, False), (JobState.CANCELLED, False)],
)  # fmt: skip
def test_cancel(state: JobState, allowed: bool) -> None:
    job = queued(state=state)
    if allowed:
        assert t.cancel(job, NOW).state is JobState.CANCELLED
    else:
        with pytest.raises(InvalidTransition):
            t.cancel(job, NOW)
