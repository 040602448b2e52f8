"""7. Disk full: the SQLite file lives on a 2 MiB tmpfs mounted in a private mount
namespace of the server (``unshare -m``), mostly taken by a filler file. Enqueue until the
disk is full: the answer must be a clear 507 ``storage_full`` (not 500, no hang), nothing accepted
may be lost, the file must pass ``PRAGMA integrity_check``, and once the filler is deleted
writes must succeed again without a restart."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.chaos.scenarios import FAST_SERVER
from tests.support.server import ServerProcess

FILLER_BYTES = 1_300_000
MAX_REQUESTS = 3000


class NamespacedServer(ServerProcess):
    """A server whose database directory is a small tmpfs only its namespace sees."""

    def __init__(self, fs_dir: Path, log_path: Path) -> None:
        self.fs_dir = fs_dir
        super().__init__(f"sqlite:///{fs_dir / 'leaseq.db'}", log_path, FAST_SERVER)

    def start(self) -> None:
        d = self.fs_dir
        script = (f"mount -t tmpfs -o size=2m tmpfs {d} && head -c {FILLER_BYTES} /dev/zero"
                  f" > {d}/filler && exec {sys.executable} -m leaseq serve --port {self.port}"
                  f" --db {self.db_url} {' '.join(self.extra)}")  # fmt: skip
        with self.log_path.open("ab") as log:
            self.proc = subprocess.Popen(["unshare", "-m", "sh", "-c", script], stdout=log,
                                         stderr=subprocess.STDOUT)  # fmt: skip
        self.wait_healthy()

    def inside(self, *args: str) -> str:
        """Runs a command in the server's mount namespace (where the tmpfs is)."""
        assert self.proc is not None
        cmd = ["nsenter", "-t", str(self.proc.pid), "-m", *args]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=True).stdout

    def integrity(self) -> str:
        code = ("import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
                " print(c.execute('PRAGMA integrity_check').fetchone()[0])")  # fmt: skip
        return self.inside(sys.executable, "-c", code, str(self.fs_dir / "leaseq.db")).strip()


def _unshare_works(tmp: Path) -> str | None:
    if not (shutil.which("unshare") and shutil.which("nsenter")):
        return "unshare or nsenter is not installed"
    probe = subprocess.run(["unshare", "-m", "sh", "-c", f"mount -t tmpfs -o size=1m tmpfs {tmp}"],
                           capture_output=True, text=True, timeout=30)  # fmt: skip
    if probe.returncode != 0:
        return f"cannot mount a tmpfs in a private mount namespace: {probe.stderr.strip()}"
    return None


def test_disk_full_answers_507_and_recovers(tmp_path: Path) -> None:
    fs_dir = tmp_path / "fs"
    fs_dir.mkdir()
    if (reason := _unshare_works(fs_dir)) is not None:
        pytest.skip(reason)
    server = NamespacedServer(fs_dir, tmp_path / "server.log")
    server.start()
    accepted: list[str] = []
    refusals: list[tuple[int, str]] = []
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            payload = "x" * 2000
            deadline = time.monotonic() + 60
            for _ in range(MAX_REQUESTS):
                if time.monotonic() > deadline:
                    break
                r = http.post("/enqueue", json={"jobs": [{"payload": payload}] * 20})
                if r.status_code != 201:
                    refusals.append((r.status_code, r.text[:300]))
                    break
                accepted += [j["id"] for j in r.json()["jobs"]]
            print(f"disk full after {len(accepted)} accepted jobs: {refusals}")
            assert refusals, f"the 2 MiB disk never filled after {len(accepted)} jobs"
            status, body = refusals[0]
            assert status == 507 and "storage_full" in body, f"disk full answered {status}: {body}"
            assert server.integrity() == "ok"
            lost = [i for i in accepted if http.get(f"/jobs/{i}").status_code != 200]
            assert not lost, f"{len(lost)} accepted jobs lost"
            server.inside("rm", str(fs_dir / "filler"))
            resumed = [http.post("/enqueue", json={"payload": "after"}).status_code
                       for _ in range(5)]  # fmt: skip
            print(f"after freeing space: {resumed}")
            assert resumed[-1] == 201, f"writes did not resume: {resumed}"
            assert server.integrity() == "ok"
            assert all(http.get(f"/jobs/{i}").status_code == 200 for i in accepted)
    finally:
        server.kill()
