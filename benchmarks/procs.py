"""Child processes of a benchmark: started with a log file, measured, always stopped."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench_env(starts_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of every child: the repository importable, output unbuffered."""
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    env = {**os.environ, "PYTHONPATH": path, "PYTHONUNBUFFERED": "1", **extra}
    if starts_dir is not None:
        env["BENCH_STARTS_DIR"] = str(starts_dir)
    return env


def python_bin(name: str) -> str:
    """A console script installed next to this interpreter (``celery``, ``rq``...)."""
    return str(Path(sys.executable).with_name(name))


class Child:
    """One process, its output in ``log``; ``stop()`` is SIGTERM, then SIGKILL."""

    def __init__(self, args: Sequence[str], log: Path, env: dict[str, str]) -> None:
        self.args = list(args)
        self.log = log
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                self.args, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT,
                start_new_session=True,
            )  # fmt: skip

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 10.0, signals: int = 1) -> None:
        """``signals`` SIGTERMs 0.1 s apart (a second one makes ``leaseq worker`` give up
        its long poll at once), then SIGKILL after ``timeout``."""
        if not self.alive():
            return
        try:
            for n in range(signals):
                os.killpg(self.proc.pid, signal.SIGTERM)
                if n + 1 < signals:
                    time.sleep(0.1)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout)
        except ProcessLookupError:
            pass

    def tail(self, chars: int = 2000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else ""


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            kids += [int(k) for k in task.read_text().split()]
        except OSError:
            pass
    return kids


def rss(pid: int) -> int:
    """Resident bytes of one process (Linux ``/proc``), 0 once it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def tree_rss(pid: int) -> int:
    """Resident bytes of a process and its descendants (huey, dramatiq and celery fork)."""
    total, todo, seen = 0, [pid], set()
    while todo and len(seen) < 1000:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        total += rss(p)
        todo += _children(p)
    return total


class RssSampler:
    """Samples the RSS of some process trees every ``interval`` s in a thread; keeps peaks
    and the first and last samples (a worker that grows over a run shows it there)."""

    def __init__(self, pids: dict[str, list[int]], interval: float = 0.25) -> None:
        self.pids = pids
        self.interval = interval
        self.peak: dict[str, int] = dict.fromkeys(pids, 0)
        self.first: dict[str, int] = {}
        self.last: dict[str, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.sample()

    def sample(self) -> None:
        for role, pids in self.pids.items():
            rss = sum(tree_rss(p) for p in pids)
            if rss == 0:
                continue
            self.first.setdefault(role, rss)
            self.last[role] = rss
            self.peak[role] = max(self.peak[role], rss)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.sample()


def wait_until(check, timeout: float, what: str, poll: float = 0.05) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(poll)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
