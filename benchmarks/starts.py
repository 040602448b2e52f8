"""The job body every system runs, and how its start times are collected.

Every system's task calls ``record(i)``: it appends ``"<index> <time.time()>"`` to a file
of its own process under ``$BENCH_STARTS_DIR``. Appending a line to a per-process file is
the same cost everywhere, needs no shared service, survives forks (the file is reopened
when the pid changes) and is read back once the run is over.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TextIO

ENV = "BENCH_STARTS_DIR"
_out: TextIO | None = None
_pid = -1


def record(index: int) -> None:
    """The no-op job: note that job ``index`` started, and when."""
    global _out, _pid
    now = time.time()
    if _pid != os.getpid():
        _pid = os.getpid()
        _out = open(Path(os.environ[ENV]) / f"starts-{_pid}.log", "a", buffering=1)
    assert _out is not None
    _out.write(f"{index} {now:.6f}\n")


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
