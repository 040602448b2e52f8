"""beanstalkd (Debian's package, in memory: no ``-b`` binlog) with ``greenstalk`` clients.

The fastest peer in the issue's own run: a C server, one TCP round trip per command, no
disk. Its workers are written like leaseq's raw ones (``leaseq_raw``): 2 processes x 8
threads, each with its own connection, reserve a job, run it, delete it.

Run as a module it is the worker: ``python -m benchmarks.peers.beanstalkd_peer PORT``.
"""

from __future__ import annotations

import shutil
import signal
import socket
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import greenstalk
from tests.support.server import free_port

from benchmarks.peers import Peer, Producer, Settings, Skip
from benchmarks.procs import Child, bench_env, wait_until
from benchmarks.starts import record

TUBE = "bench"
THREADS = 8
MAX_RUN_S = 3600.0


def client(port: int) -> greenstalk.Client[str]:
    return greenstalk.Client(("127.0.0.1", port), use=TUBE, watch=TUBE)


class BeanstalkProducer(Producer):
    def __init__(self, port: int) -> None:
        self.client = client(port)

    def enqueue_one(self, i: int) -> None:
        self.client.put(str(i))

    def enqueue_bulk(self, indexes: Sequence[int]) -> None:
        raise NotImplementedError  # no bulk put in the protocol

    def close(self) -> None:
        self.client.close()


def work(port: int, stop: threading.Event) -> None:
    deadline = time.monotonic() + MAX_RUN_S
    c = client(port)
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                job = c.reserve(timeout=1)
            except greenstalk.TimedOutError:
                continue
            record(int(job.body))
            c.delete(job)
    finally:
        c.close()


def main(port: int) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    threads = [threading.Thread(target=work, args=(port, stop)) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


class BeanstalkdPeer(Peer):
    name = "beanstalkd"
    package = "greenstalk"
    durable = "no: in memory (no -b binlog)"
    worker_config = (
        f"2 processes x {THREADS} threads, each a `greenstalk` connection: reserve, run, delete"
    )

    def setup(self) -> None:
        binary = shutil.which("beanstalkd")
        if binary is None:
            raise Skip("beanstalkd is not installed (Debian: apt-get install -y beanstalkd)")
        self.port = free_port()
        self.settings.extra["beanstalkd_port"] = self.port
        server = Child([binary, "-l", "127.0.0.1", "-p", str(self.port)],
                       self.settings.work / "beanstalkd.log", bench_env())  # fmt: skip
        self.children.append(server)
        wait_until(lambda: _listening(self.port), 10, "beanstalkd")

    @staticmethod
    def make_producer(settings: Settings) -> Producer:
        return BeanstalkProducer(settings.extra["beanstalkd_port"])

    def start_workers(self, starts_dir: Path) -> None:
        self.workers = [
            Child([sys.executable, "-m", __name__, str(self.port)],
                  self.settings.work / f"beanstalkd-worker-{n}.log", bench_env(starts_dir))
            for n in range(self.settings.worker_procs)
        ]  # fmt: skip

    def server_pids(self) -> list[int]:
        return [c.pid for c in self.children]


PEER = BeanstalkdPeer

if __name__ == "__main__":
    main(int(sys.argv[1]))
