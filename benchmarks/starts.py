"""The job body every system runs, and how its start times are collected.

Every system's task calls ``record(i)``: it appends ``"<index> <time.time()>"`` to a file
of its own process under ``$BENCH_STARTS_DIR``. Appending a line to a per-process file is
the same cost everywhere, needs no shared service, survives forks (the file is reopened
when the pid changes) and is read back once the run is over.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

ENV = "BENCH_STARTS_DIR"
_lock = threading.Lock()
_fd = -1
_pid = -1


def record(index: int) -> None:
    """The no-op job: note that job ``index`` started, and when. One ``write`` of one
    line to an ``O_APPEND`` descriptor: safe from threads (dramatiq's, the raw workers')
    where a shared buffered file object can lose lines."""
    global _fd, _pid
    now = time.time()
    if _pid != os.getpid():
        with _lock:
            if _pid != os.getpid():
                path = Path(os.environ[ENV]) / f"starts-{os.getpid()}.log"
                _fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
                _pid = os.getpid()
    os.write(_fd, f"{index} {now:.6f}\n".encode())


def collect(directory: Path) -> dict[int, float]:
    """Index -> first start time. A job run twice (at-least-once) counts once."""
    starts: dict[int, float] = {}
    for path in directory.glob("starts-*.log"):
        for line in path.read_text().splitlines():
            parts = line.split()
            if len(parts) != 2:
                continue  # a line being written as we read
            i, t = int(parts[0]), float(parts[1])
            if i not in starts or t < starts[i]:
                starts[i] = t
    return starts


def count(directory: Path) -> int:
    """Lines written so far: cheap progress while a drain runs (may count a rerun twice)."""
    return sum(p.read_bytes().count(b"\n") for p in directory.glob("starts-*.log"))


def wait_for(directory: Path, n: int, timeout: float, poll: float = 0.05) -> dict[int, float]:
    """Waits until ``n`` distinct jobs have started, at most ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if count(directory) >= n:
            starts = collect(directory)
            if len(starts) >= n:
                return starts
        time.sleep(poll)
    starts = collect(directory)
    raise TimeoutError(f"only {len(starts)} of {n} jobs started within {timeout:.0f}s")
