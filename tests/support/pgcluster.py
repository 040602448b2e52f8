"""A private, throwaway PostgreSQL cluster that a test may kill with SIGKILL and restart.

The shared server of ``LEASEQ_TEST_POSTGRES_URL`` must never be stopped, so the tests of
a database outage start their own: ``initdb`` into a fresh directory, then ``postgres``
on a free loopback port with its socket in that directory. Durability is the default
(``fsync`` on, ``synchronous_commit`` on), so a commit the server acknowledged survives
its kill and the crash recovery of the restart. Only the PostgreSQL binaries are needed
(``pg_config --bindir``, else ``/usr/lib/postgresql/*/bin``); as root, the cluster runs
as the ``postgres`` user, because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest

from tests.support.server import free_port

START_TIMEOUT_S = 60.0
"""Crash recovery replays the WAL written since the last checkpoint: seconds, on a
loaded two-core machine."""


def bindir() -> Path | None:
    """Where ``initdb`` and ``postgres`` are, or None when they are not installed."""
    found = shutil.which("pg_config")
    if found:
        out = subprocess.run([found, "--bindir"], capture_output=True, text=True, timeout=30)
        candidate = Path(out.stdout.strip())
        if (candidate / "initdb").exists():
            return candidate
    for path in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), reverse=True):
        return Path(path).parent
    return None


class PrivateCluster:
    """One cluster: ``start`` (again after a ``kill``), ``kill``, ``url``, ``admin``."""

    def __init__(self, bin_dir: Path, data_dir: Path, user: str | None) -> None:
        self.bin_dir = bin_dir
        self.data_dir = data_dir
        self.user = user  # None: the current user runs it
        self.port = free_port()
        self.log_path = data_dir.parent / "postgres.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.refused_at = 0.0
        """When ``start`` last found it refusing connections: it was still down then."""
        self.url = f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, args: list[str]) -> subprocess.Popen[bytes]:
        with self.log_path.open("ab") as log:
            return subprocess.Popen(
                args, stdout=log, stderr=subprocess.STDOUT, user=self.user,
                group=self._gid(), start_new_session=True,
            )  # fmt: skip

    def _gid(self) -> int | None:
        return None if self.user is None else pwd.getpwnam(self.user).pw_gid

    def initdb(self) -> None:
        # --no-sync only skips initdb's own flush of the template files: the server
        # below runs with fsync on, and a killed process loses no page cache anyway.
        args = [str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                "--auth=trust", "-E", "UTF8", "--no-sync"]  # fmt: skip
        proc = self._run(args)
        if proc.wait(120) != 0:
            raise RuntimeError(f"initdb failed:\n{self.log()}")

    def start(self) -> float:
        """Starts the postmaster and waits until it accepts connections (after crash
        recovery); returns the ``time.time()`` at which it first did."""
        args = [str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                "-k", str(self.data_dir), "-c", "listen_addresses=127.0.0.1",
                "-c", "shared_buffers=32MB", "-c", "max_connections=100"]  # fmt: skip
        self.refused_at = time.time()  # not started yet: certainly down
        self.proc = self._run(args)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"postgres exited with {self.proc.returncode}:\n{self.log()}")
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return time.time()
            except psycopg.OperationalError:
                self.refused_at = time.time()
                time.sleep(0.05)
        raise RuntimeError(f"postgres did not accept connections in {START_TIMEOUT_S}s")

    def kill(self) -> float:
        """SIGKILL to the postmaster and every backend at once (its process group): the
        server dies mid-transaction and cleans nothing up. Returns the time by which the
        postmaster was dead (a request that started earlier may still have been served)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(30)
        return time.time()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(30)

    def admin(self) -> psycopg.Connection[tuple[object, ...]]:
        """A superuser connection in autocommit mode, writable even when the cluster's
        default is read-only (the session setting wins over the configuration)."""
        return psycopg.connect(
            self.url, autocommit=True, connect_timeout=5,
            options="-c default_transaction_read_only=off",
        )  # fmt: skip

    def set_read_only(self, on: bool) -> float:
        """Makes every transaction read-only by default, or writable again, in every
        session at its next command (``pg_reload_conf``): what a client sees when its
        database fails over onto a standby. Returns the time the reload was sent."""
        with self.admin() as conn:
            if on:
                conn.execute("ALTER SYSTEM SET default_transaction_read_only = on")
            else:
                conn.execute("ALTER SYSTEM RESET default_transaction_read_only")
            conn.execute("SELECT pg_reload_conf()")
        return time.time()

    def create_database(self, name: str) -> str:
        with self.admin() as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


def _cluster_user() -> tuple[str | None, str | None]:
    """(user to run as, or a reason it cannot run)."""
    if os.geteuid() != 0:
        return None, None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        return None, "running as root and there is no postgres user to run PostgreSQL as"
    return "postgres", None


@contextmanager
def private_cluster() -> Iterator[PrivateCluster]:
    """A started cluster in a fresh directory, deleted afterwards; skips the test, with
    the reason, when the binaries are missing or the cluster cannot start."""
    bin_dir = bindir()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, postgres) are not installed")
    user, reason = _cluster_user()
    if reason is not None:
        pytest.skip(reason)
    # Under /tmp, not pytest's tmp_path: the postgres user cannot enter root's 0700 dirs.
    top = Path(tempfile.mkdtemp(prefix="leaseq-pgcluster-"))
    cluster = PrivateCluster(bin_dir, top / "data", user)
    try:
        if user is not None:
            shutil.chown(top, user, user)
        try:
            cluster.initdb()
            cluster.start()
        except (RuntimeError, OSError, subprocess.SubprocessError) as exc:
            cluster.stop()
            pytest.skip(f"cannot start a private PostgreSQL cluster: {exc}")
        yield cluster
    finally:
        cluster.stop()
        shutil.rmtree(top, ignore_errors=True)
