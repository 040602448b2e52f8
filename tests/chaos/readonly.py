"""A SQLite server whose filesystem turns read-only (EROFS) or full (ENOSPC) under load,
then writable again, on ``faultfs``; at the end the power is cut and the disk checked.

What the server must do while writes are refused: answer each write with a clear refusal
(503 ``storage_read_only``, or 507 ``storage_full``), never a 500 and never a hang, keep
answering reads, and take writes again as soon as the filesystem allows, with no restart.
"""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.chaos.powerloss import (
    FaultMount,
    FaultServer,
    Ledger,
    PowerFigures,
    consume,
    produce,
    read_backing,
    retry_unknown,
    tally,
)

EXPECTED = {"erofs": (503, "storage_read_only"), "enospc": (507, "storage_full")}
RESUME_TIMEOUT_S = 15.0


@dataclass
class Episodes:
    """What the probes saw during the episodes, besides the ledger of the load."""

    write_probes: list[str] = field(default_factory=list)
    read_failures: list[str] = field(default_factory=list)
    resumed_after_s: list[float] = field(default_factory=list)


def _probe(http: httpx.Client, ledger: Ledger, seen: Episodes) -> None:
    """While writes are refused: one enqueue must be refused, and reads answered."""
    r = http.post("/enqueue", json={"payload": "probe"})
    seen.write_probes.append(f"{r.status_code} {r.json().get('error', {}).get('code')}")
    with ledger.lock:
        some = next(iter(ledger.accepted), None)
    for path in ("/stats", f"/jobs/{some}" if some else "/health", "/jobs?limit=5"):
        if (s := http.get(path).status_code) != 200:
            seen.read_failures.append(f"GET {path} {s}")


def _resume(http: httpx.Client, seen: Episodes) -> None:
    """Writes must succeed again without a restart: bounded in time."""
    start = time.monotonic()
    while time.monotonic() - start < RESUME_TIMEOUT_S:
        if http.post("/enqueue", json={"payload": "resumed"}).status_code == 201:
            seen.resumed_after_s.append(round(time.monotonic() - start, 3))
            return
        time.sleep(0.1)
    raise AssertionError(f"writes did not resume within {RESUME_TIMEOUT_S}s")


def refusal_episodes(
    name: str, tmp: Path, seed: int, mode: str, episodes: int
) -> tuple[PowerFigures, Ledger, Episodes]:
    """Load (producer and consumer) runs while the filesystem is switched to ``mode`` for
    ``episodes`` seeded random spells; each spell is probed, then writes must resume.
    Afterwards the refused enqueues are retried with their keys, and the power is cut."""
    rng = random.Random(seed)
    ledger, seen = Ledger(), Episodes()
    figures = PowerFigures(name, seed)
    mount = FaultMount(tmp / "disk", tmp / "mnt", tmp / "faultfs.log")
    server = FaultServer(mount, tmp / "mnt" / "leaseq.db", tmp / "server.log", [])
    stop = threading.Event()
    threads: list[threading.Thread] = []
    try:
        server.start()
        deadline = time.monotonic() + 90
        threads = [
            threading.Thread(target=produce, args=(server.url, f"{name}-{seed}",
                                                    random.Random(seed), ledger, stop, deadline)),
            threading.Thread(target=consume, args=(server.url, ledger, stop, deadline)),
        ]  # fmt: skip
        for t in threads:
            t.start()
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for _ in range(episodes):
                time.sleep(rng.uniform(0.2, 1.0))
                mount.command(f"mode {mode}")
                time.sleep(rng.uniform(0.2, 1.0))
                _probe(http, ledger, seen)
                mount.command("mode rw")
                _resume(http, seen)
            stop.set()
            for t in threads:
                t.join(60)
            retry_unknown(http, ledger)
        server.kill()
    finally:
        stop.set()
        server.kill()
        mount.cut()
        for t in threads:
            t.join(60)
    tally(figures, ledger, read_backing(tmp / "disk" / "leaseq.db"))
    return figures, ledger, seen
