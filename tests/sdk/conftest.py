"""Fixtures for the SDK tests: a client on the live server and real worker processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import leaseq
from tests.support.server import ServerProcess

ROOT = Path(__file__).resolve().parents[2]


class WorkerProcess:
    """``python -m leaseq worker tests.sdk.sample_app:app`` against the test server."""

    def __init__(self, url: str, log_path: Path, *args: str) -> None:
        self.log_path = log_path
        env = {**os.environ, "LEASEQ_URL": url, "PYTHONUNBUFFERED": "1"}
        cmd = [sys.executable, "-m", "leaseq", "worker", "tests.sdk.sample_app:app", "-v"]
        with log_path.open("ab") as log:
            self.proc = subprocess.Popen(
                [*cmd, "--poll-wait", "1", *args],
                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def terminate(self, timeout: float = 20) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def client(server: ServerProcess) -> Iterator[leaseq.Client]:
    with leaseq.Client(server.url, retry=leaseq.RetryPolicy(max_seconds=2)) as c:
        yield c


@pytest.fixture
def start_worker(server: ServerProcess, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    workers: list[WorkerProcess] = []

    def start(*args: str) -> WorkerProcess:
        worker = WorkerProcess(server.url, tmp_path / f"worker{len(workers)}.log", *args)
        workers.append(worker)
        return worker

    yield start
    for worker in workers:
        worker.kill()


def wait_until(check: Callable[[], bool], timeout: float = 30, every: float = 0.05) -> None:
    """Polls ``check`` until it holds; bounded in time like every loop in these tests."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(every)
    raise AssertionError(f"condition not met within {timeout}s")
