"""``current_job()`` without a worker: what a task reads, what it may report, and how
its reports are handed to heartbeats."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

import leaseq
from leaseq.client.context import RunningJob
from leaseq.core import limits
from leaseq.core.model import JobState

NOW = datetime(2030, 1, 1, tzinfo=UTC)


def _job(**fields: object) -> leaseq.Job:
    base: dict[str, object] = dict(
        id="j1", queue="q", task="t", payload=None, state=JobState.LEASED, priority=0,
        attempts=2, max_tries=5, run_at=NOW, lease_owner="w", lease_expires_at=NOW,
        last_error=None, result=None, idempotency_key=None, created_at=NOW, updated_at=NOW,
        lease_token="tok", checkpoint={"page": 3}, timeout=60.0,
    )  # fmt: skip
    return leaseq.Job(**{**base, **fields})  # type: ignore[arg-type]


async def _nothing() -> None:
    return None


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def test_outside_a_task_there_is_no_current_job() -> None:
    with pytest.raises(RuntimeError, match="inside a task"):
        leaseq.current_job()


def test_a_task_reads_its_job_and_reports(loop: asyncio.AbstractEventLoop) -> None:
    running = RunningJob(_job(), loop, _nothing)

    def task() -> RunningJob:
        running.enter()
        return leaseq.current_job()

    job = contextvars.copy_context().run(task)
    assert (job.id, job.queue, job.attempt, job.max_tries) == ("j1", "q", 2, 5)
    assert (job.checkpoint, job.timeout, job.cancelled) == ({"page": 3}, 60.0, False)
    job.progress({"n": 1})
    job.progress({"n": 2})
    job.save_checkpoint({"page": 4})
    assert job.checkpoint == {"page": 4}
    progress, checkpoint = job.take_reports()
    assert (bytes(progress or b""), bytes(checkpoint or b"")) == (b'{"n":2}', b'{"page":4}')
    assert job.take_reports() == (None, None)  # sent once
    job.put_back((progress, checkpoint))
    job.progress({"n": 3})  # newer than what is put back: it wins
    assert bytes(job.take_reports()[0] or b"") == b'{"n":3}'
    job.stop()
    assert job.cancelled


def test_reports_are_checked_against_the_servers_limits(loop: asyncio.AbstractEventLoop) -> None:
    job = RunningJob(_job(), loop, _nothing)
    with pytest.raises(ValueError, match="progress is"):
        job.progress("x" * limits.MAX_PROGRESS_BYTES)
    with pytest.raises(ValueError, match="checkpoint is"):
        job.save_checkpoint("x" * limits.MAX_CHECKPOINT_BYTES)
    with pytest.raises(ValueError, match="null"):
        job.save_checkpoint(None)
    with pytest.raises(ValueError, match="JSON"):
        job.progress(object())
    assert job.take_reports() == (None, None)  # nothing refused is sent
