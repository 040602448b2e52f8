"""leaseq: one ``leaseq serve`` on SQLite (durable default), ``leaseq worker`` processes."""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx
from tests.support.server import free_port

import leaseq
from benchmarks.peers import Peer, Producer, Settings, Skip, pg_common
from benchmarks.procs import Child, bench_env, python_bin, wait_until
from benchmarks.starts import record

QUEUE = "bench"
CONCURRENCY = 200  # two polls of 100 (the server's limit) in flight per worker

app = leaseq.App()


# An async task runs on the worker's event loop, like celery's ``-P solo`` runs in its
# main thread: a no-op through a thread pool would measure the pool, not the queue.
@app.task(queue=QUEUE)
async def noop(i: int) -> None:
    record(i)


class Server:
    """``leaseq serve`` on a free loopback port, healthy once constructed (else ``Skip``)."""

    def __init__(self, db: str, log: Path, extra: Sequence[str] = ()) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [sys.executable, "-m", "leaseq", "serve", "--port", str(self.port), "--db", db]
        self.child = Child([*args, *extra], log, bench_env())
        try:
            wait_until(self._healthy, 20, f"leaseq serve --db {db}")
        except (RuntimeError, TimeoutError) as exc:
            self.child.stop()
            lines = [ln.strip(" │\n") for ln in self.child.tail().splitlines() if ln.strip(" │")]
            why = lines[-1] if lines else str(exc)
            raise Skip(
                f"`leaseq serve --db {db.split('://')[0]}://...` did not start: {why}"
            ) from exc

    def _healthy(self) -> bool:
        if not self.child.alive():
            raise RuntimeError(f"leaseq serve exited:\n{self.child.tail()}")
        try:
            return httpx.get(f"{self.url}/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False


_SHARED: dict[str, leaseq.Client] = {}


def shared_client(url: str) -> leaseq.Client:
    """One client per process and URL, shared by its producer threads, as a web app's
    request handlers share one (and as huey's producers share one ``RedisHuey``). Its
    concurrent enqueues coalesce (``leaseq.client.coalescing``)."""
    if url not in _SHARED:
        _SHARED[url] = leaseq.Client(url, timeout=60)
    return _SHARED[url]


class LeaseqProducer(Producer):
    def __init__(self, urls: Sequence[str]) -> None:
        # With several nodes, each producer process talks to one of them.
        self.client = shared_client(urls[os.getpid() % len(urls)])

    def enqueue_one(self, i: int) -> None:
        # What ``noop.enqueue(i)`` sends, to an explicit URL.
        self.client.enqueue_spec(noop.spec(noop.bind(i)))

    def enqueue_bulk(self, indexes: Sequence[int]) -> None:
        for start in range(0, len(indexes), 1000):
            chunk = indexes[start : start + 1000]
            self.client.enqueue_many([noop.spec(noop.bind(i)) for i in chunk])

    def close(self) -> None:
        """The first producer of the process to close closes the shared client (they
        close once all of them are done); the next producer made gets a new one."""
        if _SHARED.get(self.client.url) is self.client:
            del _SHARED[self.client.url]
            self.client.close()


def start_workers(urls: Sequence[str], starts_dir: Path, work: Path) -> list[Child]:
    """One ``leaseq worker`` per URL (several on one URL is fine)."""
    return [
        Child(
            [
                python_bin("leaseq"),
                "worker",
                f"{__name__}:app",
                "--url",
                url,
                "--queues",
                QUEUE,
                "--concurrency",
                str(CONCURRENCY),
            ],
            work / f"leaseq-worker-{n}.log",
            bench_env(starts_dir),
        )
        for n, url in enumerate(urls)
    ]


class LeaseqPeer(Peer):
    name = "leaseq"
    package = "leaseq"
    has_bulk = True
    durable = "yes: fsynced before the 2xx (SQLite, synchronous=FULL)"
    worker_config = (
        f"2 x `leaseq worker --concurrency {CONCURRENCY}` (async task on the event loop; "
        "polls of up to 100 jobs, acks batched); `leaseq serve` defaults, SQLite file"
    )

    serve_flags: tuple[str, ...] = ()

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.servers: list[Server] = []

    def setup(self) -> None:
        for n, db in enumerate(self.nodes()):
            log = self.settings.work / f"leaseq-serve-{n}.log"
            server = Server(db, log, self.serve_flags)
            self.servers.append(server)
            self.children.append(server.child)  # stopped by ``stop``
        self.settings.extra["leaseq_urls"] = [s.url for s in self.servers]

    def nodes(self) -> list[str]:
        """One database URL per server node."""
        db = self.settings.work / "leaseq.db"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db}{suffix}").unlink(missing_ok=True)
        return [f"sqlite:///{db}"]

    @staticmethod
    def make_producer(settings: Settings) -> Producer:
        return LeaseqProducer(settings.extra["leaseq_urls"])

    def start_workers(self, starts_dir: Path) -> None:
        urls = [s.url for s in self.servers]
        per_worker = [urls[n % len(urls)] for n in range(self.settings.worker_procs)]
        self.workers = start_workers(per_worker, starts_dir, self.settings.work)

    def server_pids(self) -> list[int]:
        return [s.child.pid for s in self.servers]

    def requests(self) -> float | None:
        """From each node's ``/metrics``: the count of every route's request timer."""
        total = 0.0
        for s in self.servers:
            for line in httpx.get(f"{s.url}/metrics", timeout=10).text.splitlines():
                if line.startswith("leaseq_http_request_duration_seconds_count"):
                    total += float(line.rsplit(" ", 1)[1])
        return total

    def stop_workers(self) -> None:
        # Nothing is running between measurements: skip the graceful wait for the poll.
        for w in self.workers:
            w.stop(signals=2)
        self.workers = []


PG_DB = "leaseq_bench"


def pg_nodes(settings: Settings, count: int = 2) -> list[str]:
    """``count`` server nodes on one fresh PostgreSQL database."""
    return [pg_common.recreate(settings.pg_dsn, PG_DB)] * count


class LeaseqNormalPeer(LeaseqPeer):
    """Not durable against power loss: shows what the fsync of each commit costs."""

    name = "leaseq-normal"
    serve_flags = ("--durability", "normal")
    durable = "crash only: `--durability normal` (no fsync per commit)"
    worker_config = LeaseqPeer.worker_config + "; `leaseq serve --durability normal`"


class LeaseqPgPeer(LeaseqPeer):
    name = "leaseq-pg"
    durable = "yes: committed before the 2xx (PostgreSQL)"
    worker_config = (
        "2 `leaseq serve` nodes on one PostgreSQL database; one `leaseq worker` per node "
        f"(--concurrency {CONCURRENCY}); producers spread over the nodes"
    )

    def nodes(self) -> list[str]:
        return pg_nodes(self.settings)
