"""A real ``leaseq serve`` process on a free loopback port, for API and acceptance tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import httpx

START_TIMEOUT_S = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class ServerProcess:
    """Starts, kills and restarts one server on the same database and port."""

    def __init__(self, db_url: str, log_path: Path, extra: Sequence[str] = ()) -> None:
        self.db_url = db_url
        self.port = free_port()
        self.tls = "--ssl-certfile" in extra
        self.url = f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"
        self.extra = list(extra)
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        args = [
            sys.executable, "-m", "leaseq", "serve", "--port", str(self.port),
            "--db", self.db_url, *self.extra,
        ]  # fmt: skip
        log = self.log_path.open("ab")
        env = {**os.environ, "PYTHONUNBUFFERED": "1"}
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=env)
        log.close()
        self.wait_healthy()

    def wait_healthy(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log()}")
            try:
                health = httpx.get(f"{self.url}/health", timeout=1, verify=not self.tls)
                if health.status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        raise RuntimeError(f"server did not become healthy:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL: the crash case, no cleanup at all."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def terminate(self, timeout: float = 15) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
