"""py-spy profile of ``leaseq serve``: batched drain, single enqueues, unbatched drain.

    python -m benchmarks.profile_server [--jobs 100000] [--seconds 10] [--out DIR]

Needs ``py-spy`` (``pip install py-spy``) and the right to ptrace (root, or
``kernel.yama.ptrace_scope=0``). Writes the raw stacks (``py-spy record -f raw``) to DIR and
prints the functions with the most samples, on their own (self) and with callees (total).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from pathlib import Path

from benchmarks import measure
from benchmarks.peers import Settings
from benchmarks.peers.leaseq_peer import LeaseqPeer
from benchmarks.peers.leaseq_raw import wrk_enqueue
from benchmarks.procs import Child, bench_env
from benchmarks.scenarios import fresh_dir


def record(pid: int, seconds: int, out: Path) -> subprocess.Popen[bytes]:
    spy = shutil.which("py-spy")
    if spy is None:
        raise SystemExit("py-spy is not installed: pip install py-spy")
    args = [spy, "record", "-p", str(pid), "-d", str(seconds), "-f", "raw", "-o", str(out)]
    return subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


# Frames every sample goes through (start-up, CLI, threads): no information in "total".
PLUMBING = ("Thread.", "_run_module", "_run_code", "<module>", "main (", "serve (", "Typer",
            "Command.", "Context.", "get_callback", "_main (typer", "Server.run", "asyncio_run",
            "Runner.run")  # fmt: skip


def top(raw: Path, n: int = 15) -> str:
    """The ``n`` frames with the most samples, self and total, as text."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        frames = stack.split(";")
        samples += int(count)
        own[frames[-1]] += int(count)
        for frame in set(frames):
            if not frame.startswith(PLUMBING):
                total[frame] += int(count)
    lines = [f"{raw.name}: {samples} samples", "  self%  function"]
    lines += [f"  {c / samples * 100:5.1f}  {f}" for f, c in own.most_common(n)]
    lines += ["  total%  function"]
    lines += [f"  {c / samples * 100:5.1f}  {f}" for f, c in total.most_common(n + 10)]
    return "\n".join(lines)


def raw_workers(peer: LeaseqPeer, out: Path) -> None:
    """The unbatched workers (one poll and one ack per job) on the peer's server."""
    url, starts = peer.servers[0].url, fresh_dir(out / "raw-starts")
    for n in range(peer.settings.worker_procs):
        args = [sys.executable, "-m", "benchmarks.peers.leaseq_raw", url]
        peer.workers.append(Child(args, out / f"raw-{n}.log", bench_env(starts)))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--jobs", type=int, default=100_000)
    p.add_argument("--seconds", type=int, default=10)
    p.add_argument("--out", type=Path, default=Path(tempfile.mkdtemp(prefix="leaseq-prof-")))
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    peer = LeaseqPeer(Settings(args.out))
    try:
        peer.setup()
        pid = peer.server_pids()[0]
        measure.enqueue_bulk(peer, range(args.jobs))
        spy = record(pid, args.seconds, args.out / "drain.txt")
        peer.start_workers(fresh_dir(args.out / "starts"))
        spy.wait(args.seconds + 60)
        peer.stop_workers()
        spy = record(pid, args.seconds, args.out / "enqueue-one.txt")
        load = threading.Thread(
            target=wrk_enqueue, args=(peer.servers[0].url, args.out, args.seconds + 1)
        )
        load.start()
        spy.wait(args.seconds + 60)
        load.join(args.seconds + 60)
        measure.enqueue_bulk(peer, range(args.jobs, 2 * args.jobs))
        spy = record(pid, args.seconds, args.out / "unbatched-drain.txt")
        raw_workers(peer, args.out)
        spy.wait(args.seconds + 60)
    finally:
        peer.stop()
    for name in ("drain.txt", "enqueue-one.txt", "unbatched-drain.txt"):
        print(top(args.out / name))


if __name__ == "__main__":
    main()
