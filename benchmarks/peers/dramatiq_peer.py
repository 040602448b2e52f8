"""Dramatiq, Redis broker: ``dramatiq --processes 2 --threads 8`` (its defaults)."""

from __future__ import annotations

from pathlib import Path

import dramatiq
from dramatiq.brokers.redis import RedisBroker

from benchmarks.peers import Peer, Producer, Settings, redis_common
from benchmarks.procs import Child, bench_env, python_bin
from benchmarks.starts import record

THREADS = 8

broker = RedisBroker(url=redis_common.url())
dramatiq.set_broker(broker)


@dramatiq.actor(queue_name="bench", max_retries=0)
def noop(i: int) -> None:
    record(i)


class DramatiqProducer(Producer):
    def enqueue_one(self, i: int) -> None:
        noop.send(i)


class DramatiqPeer(Peer):
    name = "dramatiq"
    package = "dramatiq"
    durable = redis_common.NOT_DURABLE
    worker_config = (
        f"`dramatiq --processes 2 --threads {THREADS}` (one command; prefetch: its default)"
    )

    def setup(self) -> None:
        redis_common.flush(self.settings.redis_url)

    @staticmethod
    def make_producer(settings: Settings) -> Producer:
        return DramatiqProducer()

    def start_workers(self, starts_dir: Path) -> None:
        self.workers = [
            Child(
                [
                    python_bin("dramatiq"),
                    __name__,
                    "--processes",
                    str(self.settings.worker_procs),
                    "--threads",
                    str(THREADS),
                    "-Q",
                    "bench",
                ],
                self.settings.work / "dramatiq.log",
                bench_env(starts_dir),
            )
        ]


PEER = DramatiqPeer
