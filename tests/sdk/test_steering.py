"""Steering with real worker processes: a hung plain function is timed out and retried,
a cancelled task stops within one heartbeat (its outcome dropped), and a task resumes
from its checkpoint after its worker is killed -9."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import leaseq
from leaseq.core.model import JobState
from tests.sdk import sample_app
from tests.sdk.conftest import WorkerProcess, wait_until

StartWorker = Callable[..., WorkerProcess]


def _lines(path: Path, word: str) -> list[list[str]]:
    if not path.exists():
        return []
    return [ln.split() for ln in path.read_text().splitlines() if ln.startswith(f"{word} ")]


def _enqueue(client: leaseq.Client, task: leaseq.Task, *args: object) -> leaseq.Job:  # type: ignore[type-arg]
    return client.enqueue_many([task.spec(task.bind(*args))])[0]


def test_a_hung_plain_function_is_timed_out_and_retried(
    client: leaseq.Client, start_worker: StartWorker, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    job = _enqueue(client, sample_app.hang_once, str(notes))
    assert job.timeout == 2.0  # @app.task(timeout=2)
    worker = start_worker("--concurrency", "1", "--lease-seconds", "30")
    wait_until(lambda: client.get_job(job.id).state is JobState.DONE, timeout=30)
    done = client.get_job(job.id)
    assert (done.attempts, done.result) == (2, 2)
    kinds = [e.kind for e in client.events(job.id).events]
    assert kinds.count("timed_out") == 1 and kinds[-1] == "done"
    timed_out = next(e for e in client.events(job.id).events if e.kind == "timed_out")
    assert timed_out.error == "timed out after 2 s"
    assert [n[1] for n in _lines(notes, "start")] == ["1", "2"]  # one slot: the hung one freed
    assert worker.terminate() == 0
    assert "passed its timeout of 2 s" in worker.log()


def test_a_cancelled_async_task_stops_within_one_heartbeat(
    client: leaseq.Client, start_worker: StartWorker, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    job = _enqueue(client, sample_app.spin, str(notes))
    worker = start_worker("--lease-seconds", "3")  # a heartbeat every second
    wait_until(lambda: bool(_lines(notes, "tick")))
    cancelled_at = time.monotonic()
    assert client.cancel(job.id).state is JobState.CANCELLED
    wait_until(lambda: bool(_lines(notes, "cancelled")), timeout=10)
    (stop,) = _lines(notes, "cancelled")
    print(f"\ncancel to the async task's stop: {float(stop[1]) - cancelled_at:.2f} s")
    assert float(stop[1]) - cancelled_at < 1.0 + 0.5  # one heartbeat interval, and slack
    ticks = len(_lines(notes, "tick"))
    time.sleep(0.3)
    assert len(_lines(notes, "tick")) == ticks  # it stopped for good
    after = client.get_job(job.id)
    assert (after.state, after.result) == (JobState.CANCELLED, None)  # its outcome dropped
    assert worker.terminate() == 0
    assert "was cancelled: stopping it" in worker.log()


def test_a_cancelled_plain_function_sees_cancelled_within_one_heartbeat(
    client: leaseq.Client, start_worker: StartWorker, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    job = _enqueue(client, sample_app.spin_sync, str(notes))
    worker = start_worker("--lease-seconds", "3")
    wait_until(lambda: client.get_job(job.id).progress is not None, timeout=10)
    cancelled_at = time.monotonic()
    client.cancel(job.id)
    wait_until(lambda: bool(_lines(notes, "saw-cancelled")), timeout=10)
    (seen,) = _lines(notes, "saw-cancelled")
    print(f"\ncancel to the plain function seeing it: {float(seen[1]) - cancelled_at:.2f} s")
    assert float(seen[1]) - cancelled_at < 1.0 + 0.5
    time.sleep(0.3)
    assert client.get_job(job.id).result is None and worker.terminate() == 0


def test_a_task_resumes_from_its_checkpoint_after_a_kill_9(
    client: leaseq.Client, start_worker: StartWorker, tmp_path: Path
) -> None:
    notes = tmp_path / "notes.txt"
    job = _enqueue(client, sample_app.resumable, str(notes), 12)
    first = start_worker("--lease-seconds", "2")
    wait_until(lambda: (client.get_job(job.id).checkpoint or 0) >= 4, timeout=30)
    first.kill()  # SIGKILL: the lease has to run out
    saved = client.get_job(job.id).checkpoint
    second = start_worker("--lease-seconds", "2")
    wait_until(lambda: client.get_job(job.id).state is JobState.DONE, timeout=30)
    done = client.get_job(job.id)
    assert done.result == list(range(12)) and done.attempts == 2
    assert done.checkpoint == 12 and done.progress == {"done": 12, "of": 12}
    resumes = _lines(notes, "resume")
    assert [r[1] for r in resumes] == ["0", str(saved)]
    steps = [int(s[1]) for s in _lines(notes, "step")]
    assert sorted(set(steps)) == list(range(12))
    assert all(steps.count(s) <= 2 for s in steps)  # only the step the kill cut runs twice
    kinds = [e.kind for e in client.events(job.id).events]
    assert kinds.count("checkpointed") >= 12  # every checkpoint is in the history
    assert second.terminate() == 0


def test_a_fail_carries_the_checkpoint_its_task_saved(
    client: leaseq.Client, start_worker: StartWorker
) -> None:
    job = _enqueue(client, sample_app.fail_after_checkpoint)
    worker = start_worker()
    wait_until(lambda: client.get_job(job.id).state is JobState.DONE, timeout=30)
    assert client.get_job(job.id).result == {"half": True}
    assert worker.terminate() == 0
