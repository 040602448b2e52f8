"""procrastinate 3, PostgreSQL: 2 ``procrastinate worker`` processes (LISTEN/NOTIFY)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import procrastinate

from benchmarks.peers import Peer, Producer, Settings, pg_common
from benchmarks.procs import Child, bench_env, python_bin
from benchmarks.starts import record

DB = "leaseq_bench_procrastinate"
CONCURRENCY = 10

app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(conninfo=pg_common.with_db(pg_common.dsn(), DB))
)


# procrastinate runs a sync task in a thread; an async one on its loop, like leaseq's.
@app.task(name="noop", queue="bench")
async def noop(i: int) -> None:
    record(i)


class ProcrastinateProducer(Producer):
    def __init__(self) -> None:
        self.opened = app.open()

    def enqueue_one(self, i: int) -> None:
        noop.defer(i=i)

    def enqueue_bulk(self, indexes: Sequence[int]) -> None:
        for start in range(0, len(indexes), 1000):
            noop.batch_defer(*({"i": i} for i in indexes[start : start + 1000]))

    def close(self) -> None:
        app.close()


class ProcrastinatePeer(Peer):
    name = "procrastinate"
    package = "procrastinate"
    has_bulk = True
    durable = "yes: a PostgreSQL commit"
    worker_config = (
        f"2 x `procrastinate worker --concurrency {CONCURRENCY}` (async task; "
        "LISTEN/NOTIFY; finished jobs kept, the default)"
    )

    def setup(self) -> None:
        pg_common.recreate(self.settings.pg_dsn, DB)
        with app.open():
            app.schema_manager.apply_schema()

    @staticmethod
    def make_producer(settings: Settings) -> Producer:
        return ProcrastinateProducer()

    def start_workers(self, starts_dir: Path) -> None:
        self.workers = [
            Child(
                [
                    python_bin("procrastinate"),
                    "--app",
                    f"{__name__}.app",
                    "worker",
                    "--queues",
                    "bench",
                    "--concurrency",
                    str(CONCURRENCY),
                ],
                self.settings.work / f"procrastinate-{n}.log",
                bench_env(starts_dir),
            )
            for n in range(self.settings.worker_procs)
        ]


PEER = ProcrastinatePeer
