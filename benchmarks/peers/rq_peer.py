"""RQ, 2 ``rq worker -w SimpleWorker`` processes (no fork per job); bulk: ``enqueue_many``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import redis
from rq import Queue

from benchmarks.peers import Peer, Producer, Settings, redis_common
from benchmarks.procs import Child, bench_env, python_bin
from benchmarks.starts import record


def noop(i: int) -> None:
    record(i)


class RqProducer(Producer):
    def __init__(self, url: str) -> None:
        self.conn = redis.Redis.from_url(url)
        self.queue = Queue("bench", connection=self.conn)

    def enqueue_one(self, i: int) -> None:
        # result_ttl=0: the result is not kept, as with the other systems.
        self.queue.enqueue(noop, i, result_ttl=0)

    def enqueue_bulk(self, indexes: Sequence[int]) -> None:
        for start in range(0, len(indexes), 1000):
            chunk = indexes[start : start + 1000]
            data = [Queue.prepare_data(noop, (i,), result_ttl=0) for i in chunk]
            with self.conn.pipeline() as pipe:
                self.queue.enqueue_many(data, pipeline=pipe)
                pipe.execute()

    def close(self) -> None:
        self.conn.close()


class RqPeer(Peer):
    name = "rq"
    package = "rq"
    has_bulk = True
    durable = redis_common.NOT_DURABLE
    worker_config = "2 x `rq worker -w rq.worker.SimpleWorker` (runs jobs in-process)"

    def setup(self) -> None:
        redis_common.flush(self.settings.redis_url)

    @staticmethod
    def make_producer(settings: Settings) -> Producer:
        return RqProducer(settings.redis_url)

    def start_workers(self, starts_dir: Path) -> None:
        self.workers = [
            Child(
                [
                    python_bin("rq"),
                    "worker",
                    "-w",
                    "rq.worker.SimpleWorker",
                    "--url",
                    self.settings.redis_url,
                    "-q",
                    "bench",
                ],
                self.settings.work / f"rq-{n}.log",
                bench_env(starts_dir),
            )
            for n in range(self.settings.worker_procs)
        ]


PEER = RqPeer
