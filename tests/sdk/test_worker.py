"""Real worker processes against a real server: throughput, crashes, heartbeats,
graceful shutdown and retries. Every wait is bounded."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx

import leaseq
from leaseq.core.model import JobState
from tests.sdk import sample_app
from tests.sdk.conftest import WorkerProcess, wait_until

StartWorker = Callable[..., WorkerProcess]


def _lines(path: Path, tag: str, event: str) -> list[str]:
    if not path.exists():
        return []
    return [ln for ln in path.read_text().splitlines() if ln.startswith(f"{tag} {event} ")]


def _counts(client: leaseq.Client) -> dict[str, int]:
    s = client.stats().get("default")
    return {} if s is None else {"DONE": s.DONE, "DEAD": s.DEAD, "QUEUED": s.QUEUED}


def _enqueue(client: leaseq.Client, task: leaseq.Task, *args: object, **kw: object) -> leaseq.Job:  # type: ignore[type-arg]
    spec = task.spec(task.bind(*args, **kw))
    return client.enqueue_many([spec])[0]


def test_worker_runs_200_mixed_jobs(client: leaseq.Client, start_worker: StartWorker) -> None:
    adds = [sample_app.add.spec(sample_app.add.bind(i, i)) for i in range(100)]
    muls = [sample_app.multiply.spec(sample_app.multiply.bind(a=i, b=3)) for i in range(100)]
    jobs = client.enqueue_many(adds + muls)
    worker = start_worker("--concurrency", "8")
    wait_until(lambda: _counts(client).get("DONE") == 200, timeout=60)
    results = [client.get_job(j.id).result for j in jobs]
    assert results == [2 * i for i in range(100)] + [3 * i for i in range(100)]
    assert worker.terminate() == 0


def test_kill_9_mid_job_another_worker_finishes_it_once(
    client: leaseq.Client, start_worker: StartWorker, tmp_path: Path
) -> None:
    record = tmp_path / "runs.txt"
    job = _enqueue(client, sample_app.record, str(record), "k", seconds=1.5)
    first = start_worker("--lease-seconds", "2")
    wait_until(lambda: bool(_lines(record, "k", "start")))
    first.kill()  # SIGKILL: no release, the lease has to run out
    second = start_worker("--lease-seconds", "2")
    wait_until(lambda: client.get_job(job.id).state is JobState.DONE, timeout=30)
    assert len(_lines(record, "k", "start")) == 2
    assert len(_lines(record, "k", "end")) == 1  # the killed run never finished
    assert client.get_job(job.id).attempts == 2
    assert second.terminate() == 0


def test_heartbeats_keep_a_long_job_leased(
    client: leaseq.Client, start_worker: StartWorker, tmp_path: Path
) -> None:
    record = tmp_path / "runs.txt"
    sync_job = _enqueue(client, sample_app.record, str(record), "s", seconds=5)
    async_job = _enqueue(client, sample_app.record_async, str(record), "a", seconds=5)
    worker = start_worker("--lease-seconds", "1", "--concurrency", "2")
    for job in (sync_job, async_job):
        wait_until(lambda j=job: client.get_job(j.id).state is JobState.DONE, timeout=30)  # type: ignore[misc]
        assert client.get_job(job.id).attempts == 1
    for tag in ("s", "a"):
        assert len(_lines(record, tag, "start")) == 1
    assert worker.terminate() == 0
    # The leases of both jobs were extended together: fewer requests than extensions.
    beats = sum(
        e["kind"] == "heartbeat"
        for job in (sync_job, async_job)
        for e in httpx.get(f"{client.url}/jobs/{job.id}/events").json()["events"]
    )
    metrics = httpx.get(f"{client.url}/metrics").text
    (line,) = [ln for ln in metrics.splitlines()
               if ln.startswith("leaseq_http_request_duration_seconds_count")
               and 'route="/heartbeat"' in ln]  # fmt: skip
    requests = float(line.rsplit(" ", 1)[1])
    assert beats >= 4 and requests < beats, (requests, beats)


def test_sigterm_releases_the_running_job_and_exits_0(
    client: leaseq.Client, start_worker: StartWorker, tmp_path: Path
) -> None:
    record = tmp_path / "runs.txt"
    job = _enqueue(client, sample_app.record, str(record), "t", seconds=10)
    first = start_worker("--grace", "1", "--concurrency", "1")
    wait_until(lambda: bool(_lines(record, "t", "start")))
    stopped = time.monotonic()
    assert first.terminate(timeout=10) == 0
    assert time.monotonic() - stopped < 5
    released = client.get_job(job.id)
    assert (released.state, released.attempts) == (JobState.QUEUED, 0)
    start_worker()
    wait_until(lambda: len(_lines(record, "t", "start")) == 2, timeout=5)  # not after a lease
    assert _lines(record, "t", "end") == []
    assert "released" in first.log()


def test_failures_retry_with_backoff_then_dead(
    client: leaseq.Client, start_worker: StartWorker
) -> None:
    boom = _enqueue(client, sample_app.boom, "kaput")
    give_up = _enqueue(client, sample_app.give_up, "never")
    unknown = client.enqueue({"args": []}, task="no_such_task")
    bad_result = _enqueue(client, sample_app.not_json)
    worker = start_worker()
    for job in (boom, give_up, unknown, bad_result):
        wait_until(lambda j=job: client.get_job(j.id).state is JobState.DEAD, timeout=30)  # type: ignore[misc]
    dead = client.get_job(boom.id)
    assert dead.attempts == 3 and "ValueError: kaput" in (dead.last_error or "")
    assert "Traceback" in (dead.last_error or "")
    # Three tries with base 0.2 s: two backoff delays separate the first lease from DEAD.
    assert (dead.updated_at - dead.created_at).total_seconds() > 0.1
    assert client.get_job(give_up.id).attempts == 1
    missing = client.get_job(unknown.id)
    assert missing.attempts == 1 and "unknown task 'no_such_task'" in (missing.last_error or "")
    assert "not JSON" in (client.get_job(bad_result.id).last_error or "")
    assert worker.terminate() == 0


def _requests(client: leaseq.Client, route: str) -> float:
    metrics = httpx.get(f"{client.url}/metrics").text
    lines = [ln for ln in metrics.splitlines()
             if ln.startswith("leaseq_http_request_duration_seconds_count")
             and f'route="{route}"' in ln]  # fmt: skip
    return sum(float(ln.rsplit(" ", 1)[1]) for ln in lines)


def test_acks_ride_on_the_next_poll(client: leaseq.Client, start_worker: StartWorker) -> None:
    """One job at a time: each job's end frees the worker's only slot, so its ack goes
    with the poll for the next job. At most one ``POST /ack``: the stop cancels the last
    poll (a long poll still waiting after its acks landed), whose acks are sent again."""
    jobs = client.enqueue_many([sample_app.add.spec(sample_app.add.bind(i, 1)) for i in range(30)])
    worker = start_worker("--concurrency", "1")
    wait_until(lambda: _counts(client).get("DONE") == 30, timeout=60)
    assert [client.get_job(j.id).result for j in jobs] == [i + 1 for i in range(30)]
    assert worker.terminate() == 0
    assert _requests(client, "/ack") <= 1 and _requests(client, "/poll") >= 30


def test_an_ack_does_not_wait_for_a_long_poll(
    client: leaseq.Client, start_worker: StartWorker, tmp_path: Path
) -> None:
    """With a slot free a long poll is in flight (10 s here): a job that ends meanwhile
    is acked on its own at once, not held for that poll's answer."""
    record = tmp_path / "runs.txt"
    worker = start_worker("--concurrency", "2", "--poll-wait", "10")
    time.sleep(1)  # the worker is up and waiting in its long poll
    job = _enqueue(client, sample_app.record, str(record), "q", seconds=0.5)
    wait_until(lambda: bool(_lines(record, "q", "end")), timeout=10)
    ended = time.monotonic()
    wait_until(lambda: client.get_job(job.id).state is JobState.DONE, timeout=10)
    assert time.monotonic() - ended < 3
    assert worker.terminate() == 0
