"""Power cuts and a read-only disk under a SQLite server, on the ``faultfs`` filesystem.

``FaultMount`` runs ``tests.chaos.faultfs`` in a private mount namespace (``unshare -m``)
so the mount dies with its processes and never outlives a test; the server joins that
namespace with ``nsenter``. A cut is SIGKILL of the server, then SIGKILL of the
filesystem: whatever no fsync covered is gone, and the backing directory is the disk as
it would be found after the power came back. The checks then open the backing file
directly, as the next server start would.
"""

from __future__ import annotations

import os
import random
import select
import shutil
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

import httpx
import pytest

from tests.chaos.app import QUEUE
from tests.chaos.harness import ROOT
from tests.chaos.scenarios import FAST_SERVER
from tests.support.server import ServerProcess

REPLY_TIMEOUT_S = 20.0
Answer = Literal["ok", "refused", "gone"]


def skip_without_fuse() -> None:
    """Skips the test where faultfs cannot run; CI sets ``LEASEQ_TEST_REQUIRE_FUSE=1``
    so that a missing libfuse fails there instead."""
    if (reason := unavailable_reason()) is None:
        return
    if os.environ.get("LEASEQ_TEST_REQUIRE_FUSE") == "1":
        raise RuntimeError(f"LEASEQ_TEST_REQUIRE_FUSE=1 but {reason}")
    pytest.skip(reason)


def unavailable_reason() -> str | None:
    """Why faultfs cannot run here, or None."""
    if not Path("/dev/fuse").exists():
        return "/dev/fuse does not exist"
    if not (shutil.which("unshare") and shutil.which("nsenter")):
        return "unshare or nsenter is not installed"
    probe = subprocess.run([sys.executable, "-c", "import mfusepy"], capture_output=True,
                           text=True, timeout=30)  # fmt: skip
    if probe.returncode != 0:
        return f"mfusepy cannot load libfuse (apt-get install fuse3): {probe.stderr[-300:]}"
    return None


class FaultMount:
    """faultfs over ``backing`` at ``mountpoint``, in a mount namespace of its own."""

    def __init__(self, backing: Path, mountpoint: Path, log: Path) -> None:
        backing.mkdir(parents=True, exist_ok=True)
        mountpoint.mkdir(exist_ok=True)
        args = ["unshare", "-m", "--propagation", "private", sys.executable, "-m",
                "tests.chaos.faultfs", str(backing), str(mountpoint)]  # fmt: skip
        with log.open("ab") as err:
            self.proc = subprocess.Popen(args, cwd=ROOT, stdin=subprocess.PIPE,
                                         stdout=subprocess.PIPE, stderr=err, text=True)  # fmt: skip
        if (line := self._reply()) != "mounted":
            self.cut()
            raise RuntimeError(f"faultfs did not mount: {line!r}\n{log.read_text()[-2000:]}")

    def _reply(self) -> str:
        assert self.proc.stdout is not None
        ready, _, _ = select.select([self.proc.stdout], [], [], REPLY_TIMEOUT_S)
        return self.proc.stdout.readline().strip() if ready else "(no answer)"

    def command(self, line: str) -> str:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self._reply()
        assert reply.startswith("ok"), f"faultfs {line!r}: {reply}"
        return reply

    def enter(self, *args: str) -> list[str]:
        """``args`` as a command that runs inside the mount's namespace."""
        return ["nsenter", "-t", str(self.proc.pid), "-m", "--", *args]

    def cut(self) -> None:
        """The power goes out: the filesystem dies with every unsynced write it held."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)
        for pipe in (self.proc.stdin, self.proc.stdout):
            if pipe is not None:
                pipe.close()


class FaultServer(ServerProcess):
    """``leaseq serve`` inside a ``FaultMount``'s namespace."""

    def __init__(self, mount: FaultMount, db: Path, log: Path, extra: Sequence[str]) -> None:
        self.mount = mount
        super().__init__(f"sqlite:///{db}", log, [*FAST_SERVER, *extra])

    def start(self) -> None:
        args = self.mount.enter(sys.executable, "-m", "leaseq", "serve", "--port",
                                str(self.port), "--db", self.db_url, *self.extra)  # fmt: skip
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(args, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        self.wait_healthy()


# -- what the disk holds after a cut ---------------------------------------------------


@dataclass
class Stored:
    integrity: str
    jobs: dict[str, tuple[str, int, str | None]]  # id -> (state, attempts, idempotency key)


def read_backing(db: Path) -> Stored:
    """``PRAGMA integrity_check`` and every job, read from the backing file itself."""
    conn = sqlite3.connect(db)
    try:
        integrity = str(conn.execute("PRAGMA integrity_check").fetchone()[0])
        try:
            rows = conn.execute("SELECT id, state, attempts, idempotency_key FROM jobs")
            jobs = {r[0]: (r[1], r[2], r[3]) for r in rows}
        except sqlite3.OperationalError:  # the table itself never reached the disk
            jobs = {}
        return Stored(integrity, jobs)
    finally:
        conn.close()


# -- the ledger: what the clients were told --------------------------------------------


@dataclass
class Ledger:
    """Every answer that promised something, over all the cuts of a run, and every
    answer that refused (``refusals``, by path, status and error code)."""

    accepted: dict[str, str] = field(default_factory=dict)  # job id -> idempotency key
    acked: set[str] = field(default_factory=set)
    leased: dict[str, int] = field(default_factory=dict)  # job id -> attempts when leased
    unknown: list[list[str]] = field(default_factory=list)  # unanswered batches of keys
    enqueue_unknown: int = 0
    refusals: Counter[str] = field(default_factory=Counter)
    messages: dict[str, str] = field(default_factory=dict)  # refusal -> its first message
    transport_errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refused(self, path: str, r: httpx.Response) -> None:
        try:
            code, message = r.json()["error"]["code"], r.json()["error"]["message"]
        except (ValueError, KeyError, TypeError):
            code, message = "?", r.text[:300]
        key = f"{path} {r.status_code} {code}"
        with self.lock:
            self.refusals[key] += 1
            self.messages.setdefault(key, message)


@dataclass
class PowerFigures:
    name: str
    seed: int
    cuts: int = 0
    accepted: int = 0
    acknowledged: int = 0
    lost: int = 0
    acks_lost: int = 0
    leases_regressed: int = 0
    duplicate_created: int = 0
    integrity_ok: int = 0
    enqueue_unknown: int = 0
    refused: int = 0

    def line(self) -> str:
        return f"power {self.name}: " + " ".join(f"{k}={v}" for k, v in asdict(self).items()
                                                  if k != "name")  # fmt: skip

    def assert_safe(self, refusals_allowed: bool = False) -> None:
        print(self.line())
        # A lease may go back: it is answered before any fsync (README, Guarantees), and
        # the job is then QUEUED again and delivered again. It is counted, not refused.
        bad = (self.lost, self.acks_lost, self.duplicate_created)
        assert bad == (0, 0, 0) and self.integrity_ok == self.cuts, self.line()
        assert refusals_allowed or not self.refused, self.line()


def enqueue(http: httpx.Client, keys: list[str], ledger: Ledger) -> Answer:
    """One enqueue, single or batched by the number of keys; an unanswered or refused
    one is kept to be retried with the same keys later."""
    specs = [{"payload": k, "queue": QUEUE, "idempotency_key": k} for k in keys]
    try:
        r = http.post("/enqueue", json=specs[0] if len(specs) == 1 else {"jobs": specs})
    except httpx.TransportError:
        with ledger.lock:
            ledger.unknown.append(keys)
            ledger.enqueue_unknown += len(keys)
            ledger.transport_errors += 1
        return "gone"
    if r.status_code not in (200, 201):
        ledger.refused("/enqueue", r)
        with ledger.lock:
            ledger.unknown.append(keys)
            ledger.enqueue_unknown += len(keys)
        return "refused"
    body = r.json()
    jobs = [body["job"]] if "job" in body else body["jobs"]
    with ledger.lock:
        ledger.accepted.update((j["id"], k) for j, k in zip(jobs, keys, strict=True))
    return "ok"


def retry_unknown(http: httpx.Client, ledger: Ledger) -> None:
    """Sends every unanswered enqueue again, with the same idempotency keys."""
    with ledger.lock:
        retry, ledger.unknown = ledger.unknown, []
    for keys in retry:
        enqueue(http, keys, ledger)


def produce(url: str, prefix: str, rng: random.Random, ledger: Ledger, stop: threading.Event,
            deadline: float) -> None:  # fmt: skip
    with httpx.Client(base_url=url, timeout=30) as http:
        retry_unknown(http, ledger)
        n = 0
        while not stop.is_set() and time.monotonic() < deadline:
            size = rng.choice((1, 1, 5, 20))
            answer = enqueue(http, [f"{prefix}-{n + i}" for i in range(size)], ledger)
            if answer == "gone":
                return
            if answer == "refused":
                time.sleep(0.05)  # as a client backs off; the keys are retried later
            n += size


def consume(url: str, ledger: Ledger, stop: threading.Event, deadline: float) -> None:
    """Polls and acks at once; a refused poll or ack is recorded and tried again."""
    body = {"worker_id": "power", "queues": [QUEUE], "max_jobs": 10, "wait": 0.2,
            "lease_seconds": 60}  # fmt: skip
    with httpx.Client(base_url=url, timeout=30) as http:
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                r = http.post("/poll", json=body)
                if r.status_code != 200:
                    ledger.refused("/poll", r)
                    time.sleep(0.05)
                    continue
                jobs = r.json()["jobs"]
                with ledger.lock:
                    ledger.leased.update((j["id"], j["attempts"]) for j in jobs)
                if jobs:
                    _ack(http, jobs, ledger)
            except httpx.TransportError:
                with ledger.lock:
                    ledger.transport_errors += 1
                return  # the server is gone: this run is over


def _ack(http: httpx.Client, jobs: list[dict[str, Any]], ledger: Ledger) -> None:
    acks = [{"job_id": j["id"], "lease_token": j["lease_token"]} for j in jobs]
    r = http.post("/ack", json={"acks": acks})
    if r.status_code != 200:
        ledger.refused("/ack", r)
        return
    with ledger.lock:
        ledger.acked.update(a["job_id"] for a in r.json()["results"] if a["status"] == 200)


def tally(figures: PowerFigures, ledger: Ledger, stored: Stored) -> None:
    jobs = stored.jobs
    figures.cuts += 1
    figures.integrity_ok += stored.integrity == "ok"
    figures.accepted = len(ledger.accepted)
    figures.acknowledged = len(ledger.acked)
    figures.lost = sum(1 for i in ledger.accepted if i not in jobs)
    figures.acks_lost = sum(1 for i in ledger.acked if jobs.get(i, ("",))[0] != "DONE")
    figures.leases_regressed = sum(
        1 for i, attempts in ledger.leased.items() if jobs.get(i, ("", 0))[1] < attempts
    )
    keys = [key for _, _, key in jobs.values() if key is not None]
    figures.duplicate_created = len(keys) - len(set(keys))
    figures.enqueue_unknown = ledger.enqueue_unknown
    figures.refused = sum(ledger.refusals.values())


def power_cuts(name: str, tmp: Path, cuts: int, seed: int, durability: str = "full",
               max_load_s: float = 2.0) -> PowerFigures:  # fmt: skip
    """``cuts`` rounds on one database: mount, start the server, retry the enqueues the
    last cut left unanswered, then produce (single and batched enqueues with idempotency
    keys) and consume (poll, ack) until a seeded random moment, when the server is
    killed and the power cut. After each cut the backing file must pass
    ``integrity_check`` and hold every job whose enqueue was answered 2xx, every job
    whose ack was answered 200 as DONE; a figure counts each kind of loss, over all
    accepted so far, and the answered leases that went back (allowed: not durable)."""
    rng = random.Random(seed)
    ledger = Ledger()
    figures = PowerFigures(name, seed)
    disk = tmp / "disk"
    for cut in range(cuts):
        mount = FaultMount(disk, tmp / "mnt", tmp / "faultfs.log")
        stop = threading.Event()
        threads: list[threading.Thread] = []
        server = FaultServer(mount, tmp / "mnt" / "leaseq.db", tmp / "server.log",
                             ["--durability", durability])  # fmt: skip
        try:
            server.start()
            deadline = time.monotonic() + 60
            producer_rng = random.Random(rng.random())
            threads = [
                threading.Thread(target=produce, args=(server.url, f"{name}-{seed}-{cut}",
                                                        producer_rng, ledger, stop, deadline)),
                threading.Thread(target=consume, args=(server.url, ledger, stop, deadline)),
            ]  # fmt: skip
            for t in threads:
                t.start()
            time.sleep(rng.uniform(0.1, max_load_s))
            server.kill()
        finally:
            server.kill()
            mount.cut()
            stop.set()
            for t in threads:
                t.join(60)
        tally(figures, ledger, read_backing(disk / "leaseq.db"))
    return figures
