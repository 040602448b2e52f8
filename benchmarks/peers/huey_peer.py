"""huey, ``RedisHuey`` (blocking pops): ``huey_consumer -k process -w 2``."""

from __future__ import annotations

from pathlib import Path

from huey import RedisHuey

from benchmarks.peers import Peer, Producer, Settings, redis_common
from benchmarks.procs import Child, bench_env, python_bin
from benchmarks.starts import record

huey = RedisHuey("bench", url=redis_common.url(), results=False)


@huey.task()
def noop(i: int) -> None:
    record(i)


class HueyProducer(Producer):
    def enqueue_one(self, i: int) -> None:
        noop(i)


class HueyPeer(Peer):
    name = "huey"
    package = "huey"
    durable = redis_common.NOT_DURABLE + "; dequeues at most once"
    worker_config = "`huey_consumer -k process -w 2` (blocking BRPOP, results off)"

    def setup(self) -> None:
        redis_common.flush(self.settings.redis_url)

    @staticmethod
    def make_producer(settings: Settings) -> Producer:
        return HueyProducer()

    def start_workers(self, starts_dir: Path) -> None:
        self.workers = [
            Child(
                [
                    python_bin("huey_consumer"),
                    f"{__name__}.huey",
                    "-k",
                    "process",
                    "-w",
                    str(self.settings.worker_procs),
                    "-q",
                ],
                self.settings.work / "huey.log",
                bench_env(starts_dir),
            )
        ]


PEER = HueyPeer
