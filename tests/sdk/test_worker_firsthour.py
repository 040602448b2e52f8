"""What a new user meets when running ``leaseq worker myapp:app`` (issue 13): the worker
polls the queues its tasks are declared on, says what it does, stops at once when idle,
and says at once when it cannot reach the server. Real processes; every wait bounded."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

import leaseq
from leaseq.core.model import JobState
from tests.sdk import firsthour_app
from tests.sdk.conftest import ROOT, wait_until
from tests.support.server import ServerProcess

APP = "tests.sdk.firsthour_app:app"


class Worker:
    """``python -m leaseq worker`` with exactly the arguments a user would type."""

    def __init__(self, url: str, log_path: Path, *args: str) -> None:
        self.log_path = log_path
        env = {**os.environ, "LEASEQ_URL": url, "PYTHONUNBUFFERED": "1"}
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "leaseq", "worker", APP, *args],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_for(self, text: str, timeout: float = 15) -> None:
        wait_until(lambda: text in self.log(), timeout=timeout)

    def stop(self, timeout: float = 20) -> tuple[int, float]:
        """SIGTERM; the exit code and how long the process took to exit."""
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout)
        return code, time.monotonic() - started


@pytest.fixture
def start(tmp_path: Path) -> Iterator[object]:
    workers: list[Worker] = []

    def make(url: str, *args: str) -> Worker:
        worker = Worker(url, tmp_path / f"worker{len(workers)}.log", *args)
        workers.append(worker)
        return worker

    yield make
    for worker in workers:
        if worker.proc.poll() is None:
            worker.proc.kill()
            worker.proc.wait(10)


def _enqueue(client: leaseq.Client, task: leaseq.Task, *args: object) -> leaseq.Job:  # type: ignore[type-arg]
    return client.enqueue_many([task.spec(task.bind(*args))])[0]


def test_worker_polls_its_tasks_queues_and_prints_a_line_per_failure(
    server: ServerProcess, client: leaseq.Client, start
) -> None:  # type: ignore[no-untyped-def]
    sent = _enqueue(client, firsthour_app.send_email, "ada@example.com")
    failed = _enqueue(client, firsthour_app.boom, "kaput")
    worker = start(server.url)  # no --queues, no -v: what the README's user types
    wait_until(lambda: client.get_job(sent.id).state is JobState.DONE, timeout=15)
    wait_until(lambda: client.get_job(failed.id).state is JobState.DEAD, timeout=15)
    dead = client.get_job(failed.id)  # the exception's type and message, apart
    assert (dead.last_error_type, dead.last_error_message) == ("ValueError", "kaput")
    assert dead.last_error is not None and "Traceback" in dead.last_error
    worker.wait_for("ValueError: kaput")
    log = worker.log()
    startup = next(line for line in log.splitlines() if "concurrency" in line)
    for part in (server.url, "queues emails, reports", "send_email, boom, slow_report",
                 "concurrency 8"):  # fmt: skip
        assert part in startup, startup
    failure = next(line for line in log.splitlines() if "kaput" in line)
    assert f"job {failed.id} failed" in failure and "(DEAD)" in failure, failure
    assert "Traceback" not in log  # the traceback is -v material
    assert sent.id not in log  # a success is quiet at the default level
    (seen,) = client.workers()  # as the workers page shows it
    assert (sorted(seen.queues), seen.concurrency) == (["emails", "reports"], 8)
    assert worker.stop()[0] == 0


def test_verbose_worker_shows_each_job_and_the_traceback(
    server: ServerProcess, client: leaseq.Client, start
) -> None:  # type: ignore[no-untyped-def]
    failed = _enqueue(client, firsthour_app.boom, "kaput")
    sent = _enqueue(client, firsthour_app.send_email, "ada@example.com")
    worker = start(server.url, "-v")
    wait_until(lambda: client.get_job(sent.id).state is JobState.DONE, timeout=15)
    worker.wait_for("Traceback")
    log = worker.log()
    assert f"job {sent.id} done" in log and f"job {failed.id} traceback" in log
    assert "raise ValueError(message)" in log
    assert worker.stop()[0] == 0


def test_idle_worker_stops_within_a_second(
    server: ServerProcess, client: leaseq.Client, start
) -> None:  # type: ignore[no-untyped-def]
    worker = start(server.url, "--poll-wait", "20")
    worker.wait_for("concurrency")
    time.sleep(0.5)  # its long poll is in flight on the server
    code, took = worker.stop()
    assert code == 0 and took < 1.5, (code, took, worker.log())


def test_a_job_leased_during_the_stop_is_finished_or_handed_back(
    server: ServerProcess, client: leaseq.Client, start
) -> None:  # type: ignore[no-untyped-def]
    running = _enqueue(client, firsthour_app.slow_report, 0.5)
    worker = start(server.url, "--poll-wait", "20", "--concurrency", "2")
    wait_until(lambda: client.get_job(running.id).state is JobState.LEASED, timeout=15)
    worker.proc.send_signal(signal.SIGTERM)
    # Enqueued while the worker stops: its poll may be leasing it right now.
    late = _enqueue(client, firsthour_app.send_email, "late@example.com")
    assert worker.proc.wait(10) == 0
    assert client.get_job(running.id).state is JobState.DONE  # finished within --grace
    left = client.get_job(late.id)
    assert left.state in (JobState.QUEUED, JobState.DONE), left  # never stranded LEASED


def test_worker_without_a_server_warns_at_once_then_runs_jobs(server_factory, start) -> None:  # type: ignore[no-untyped-def]
    server: ServerProcess = server_factory(start=False)
    worker = start(server.url)
    worker.wait_for("cannot reach leaseq", timeout=10)
    # Timed by the worker's own log, from its start-up line: the process start itself
    # (imports) is the machine's speed, not the worker's, and took 1.9 s on a loaded CI.
    up, warned = (_logged_at(worker.log(), text) for text in ("concurrency 8", "cannot reach"))
    assert warned - up < 1.0, worker.log()
    server.start()
    with leaseq.Client(server.url) as client:
        job = _enqueue(client, firsthour_app.send_email, "ada@example.com")
        wait_until(lambda: client.get_job(job.id).state is JobState.DONE, timeout=10)
    worker.wait_for("is back")
    assert worker.log().count("cannot reach leaseq") == 1  # one warning, not one per retry
    assert worker.stop()[0] == 0


def _logged_at(log: str, text: str) -> float:
    """The time (s) of the first log line holding ``text``, from its logging timestamp."""
    line = next(ln for ln in log.splitlines() if text in ln)
    stamp = datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")
    return stamp.timestamp()
