"""Celery 5, Redis broker: 2 ``celery worker -P solo`` processes with a deep prefetch."""

from __future__ import annotations

from pathlib import Path

from celery import Celery

from benchmarks.peers import Peer, Producer, Settings, redis_common
from benchmarks.procs import Child, bench_env, python_bin
from benchmarks.starts import record

PREFETCH = 100

app = Celery("bench", broker=redis_common.url())
app.conf.update(
    task_ignore_result=True,  # no result backend: leaseq's ack stores none either
    task_default_queue="bench",
    worker_prefetch_multiplier=PREFETCH,
    broker_connection_retry_on_startup=True,
    worker_hijack_root_logger=False,
)


@app.task(name="noop")
def noop(i: int) -> None:
    record(i)


class CeleryProducer(Producer):
    def __init__(self) -> None:
        self.conn = app.connection_for_write()
        self.conn.ensure_connection(max_retries=3)

    def enqueue_one(self, i: int) -> None:
        noop.apply_async((i,), connection=self.conn)

    def close(self) -> None:
        self.conn.release()


class CeleryPeer(Peer):
    name = "celery"
    package = "celery"
    durable = redis_common.NOT_DURABLE
    worker_config = (
        f"2 x `celery worker -P solo --prefetch-multiplier {PREFETCH} --without-gossip "
        "--without-mingle --without-heartbeat` (early ack, the default; results ignored)"
    )

    def setup(self) -> None:
        redis_common.flush(self.settings.redis_url)

    @staticmethod
    def make_producer(settings: Settings) -> Producer:
        return CeleryProducer()

    def start_workers(self, starts_dir: Path) -> None:
        self.workers = [
            Child(
                [
                    python_bin("celery"),
                    "-A",
                    __name__,
                    "worker",
                    "-P",
                    "solo",
                    "-Q",
                    "bench",
                    "--prefetch-multiplier",
                    str(PREFETCH),
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "-l",
                    "warning",
                    "-n",
                    f"bench{n}@%h",
                ],
                self.settings.work / f"celery-{n}.log",
                bench_env(starts_dir),
            )
            for n in range(self.settings.worker_procs)
        ]


PEER = CeleryPeer
