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


class Collector:
    """Reads the start files of a directory incrementally: each poll parses only the lines
    written since the last one, so waiting for a million jobs costs no more than reading
    them once (the benchmark shares the machine with it)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.starts: dict[int, float] = {}
        self._offsets: dict[Path, int] = {}

    def poll(self) -> dict[int, float]:
        """Index -> first start time. A job run twice (at-least-once) counts once."""
        for path in self.directory.glob("starts-*.log"):
            offset = self._offsets.get(path, 0)
            with path.open("rb") as f:
                f.seek(offset)
                chunk = f.read()
            end = chunk.rfind(b"\n") + 1  # a line still being written waits for next time
            self._offsets[path] = offset + end
            for line in chunk[:end].split(b"\n")[:-1]:
                i_text, _, t_text = line.partition(b" ")
                i, t = int(i_text), float(t_text)
                if i not in self.starts or t < self.starts[i]:
                    self.starts[i] = t
        return self.starts


def collect(directory: Path) -> dict[int, float]:
    return Collector(directory).poll()


def wait_for(
    directory: Path, n: int, timeout: float, poll: float = 0.05, collector: Collector | None = None
) -> dict[int, float]:
    """Waits until ``n`` distinct jobs have started, at most ``timeout`` seconds."""
    collector = collector or Collector(directory)
    deadline = time.monotonic() + timeout
    while True:
        starts = collector.poll()
        if len(starts) >= n:
            return starts
        if time.monotonic() >= deadline:
            raise TimeoutError(f"only {len(starts)} of {n} jobs started within {timeout:.0f}s")
        time.sleep(poll)
