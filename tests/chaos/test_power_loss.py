"""8. Power loss on SQLite, on ``faultfs`` (see ``tests/chaos/faultfs.py``): the server
is killed with SIGKILL and every write no fsync covered is dropped. With the default
durability (WAL, synchronous=FULL) no answered enqueue, ack or lease may be lost and the
file must pass ``integrity_check`` after every cut. Two controls show the test can fail:
the filesystem really drops unsynced writes, and ``--durability normal`` (no fsync per
commit) really loses answered enqueues."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.chaos.powerloss import (
    FaultMount,
    FaultServer,
    power_cuts,
    read_backing,
    skip_without_fuse,
)

FAST_CUTS = 4
LONG_CUTS = 50
CONTROL_JOBS = 20

# Runs inside the mount: three files written, two of them fsync'd, one rewritten after.
_WRITER = """
import os, sys
d = sys.argv[1]
def write(name, data, sync):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)
        f.flush()
        if sync:
            os.fsync(f.fileno())
write("unsynced", b"lost", False)
write("synced", b"kept", True)
write("rewritten", b"first", True)
with open(os.path.join(d, "rewritten"), "r+b") as f:
    f.write(b"SECOND, longer")
print(open(os.path.join(d, "unsynced"), "rb").read().decode())
"""


@pytest.fixture(autouse=True)
def _needs_fuse() -> None:
    skip_without_fuse()


def test_a_cut_drops_exactly_the_unsynced_writes(tmp_path: Path) -> None:
    mount = FaultMount(tmp_path / "disk", tmp_path / "mnt", tmp_path / "faultfs.log")
    try:
        run = subprocess.run(mount.enter(sys.executable, "-c", _WRITER, str(tmp_path / "mnt")),
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == "lost", "a program must read its own unsynced write"
        assert mount.command("pending") == "ok pending 2"
    finally:
        mount.cut()
    disk = tmp_path / "disk"
    assert (disk / "unsynced").read_bytes() == b""
    assert (disk / "synced").read_bytes() == b"kept"
    assert (disk / "rewritten").read_bytes() == b"first"


@pytest.mark.parametrize("durability", ["full", "normal"])
def test_answered_enqueues_survive_a_cut_only_with_fsync(tmp_path: Path, durability: str) -> None:
    """A clean start and stop first (the tables reach the disk), then CONTROL_JOBS single
    enqueues, each answered 201, then the cut. ``normal`` syncs the WAL only at a
    checkpoint, which so few commits never reach: all of them must be gone."""
    disk, mnt = tmp_path / "disk", tmp_path / "mnt"
    accepted: list[str] = []
    for step in ("create", "load"):
        mount = FaultMount(disk, mnt, tmp_path / "faultfs.log")
        server = FaultServer(mount, mnt / "leaseq.db", tmp_path / "server.log",
                             ["--durability", durability])  # fmt: skip
        try:
            server.start()
            if step == "create":
                assert server.terminate() in (0, -signal.SIGTERM)  # uvicorn re-raises it
                continue
            with httpx.Client(base_url=server.url, timeout=30) as http:
                for i in range(CONTROL_JOBS):
                    r = http.post("/enqueue", json={"payload": i, "idempotency_key": f"k{i}"})
                    assert r.status_code == 201, r.text
                    accepted.append(r.json()["job"]["id"])
        finally:
            server.kill()
            mount.cut()
    stored = read_backing(disk / "leaseq.db")
    lost = sum(1 for i in accepted if i not in stored.jobs)
    print(f"power control durability={durability}: accepted={len(accepted)} lost={lost}"
          f" integrity={stored.integrity}")  # fmt: skip
    assert stored.integrity == "ok"
    assert lost == (0 if durability == "full" else CONTROL_JOBS)


def test_power_cuts_fast(tmp_path: Path, seed: int) -> None:
    power_cuts("sqlite-full", tmp_path, FAST_CUTS, seed, max_load_s=1.5).assert_safe()


@pytest.mark.chaos
@pytest.mark.timeout(1800)
def test_power_cuts_long(tmp_path: Path, seed: int) -> None:
    power_cuts("sqlite-full-long", tmp_path, LONG_CUTS, seed, max_load_s=3.0).assert_safe()


@pytest.mark.chaos
@pytest.mark.timeout(1800)
def test_power_cuts_long_normal_durability_loses(tmp_path: Path, seed: int) -> None:
    """The long run with ``--durability normal``: the same checks must find losses."""
    figures = power_cuts("sqlite-normal-long", tmp_path, LONG_CUTS, seed, "normal", 3.0)
    print(figures.line())
    assert figures.lost > 0 and figures.integrity_ok == figures.cuts, figures.line()
