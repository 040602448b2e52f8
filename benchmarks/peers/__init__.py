"""One adapter per queue, all with the same small interface, so a scenario is written once.

A ``Peer`` sets its system up (servers, a clean store), makes producers (also in other
processes, from plain ``settings``), starts and stops the workers. Every worker runs the
same job body, ``benchmarks.starts.record(i)``, so start times are collected the same way.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.procs import Child

# name -> "module:class" under benchmarks.peers; leaseq's variants first, then the peers.
MODULES = {
    "leaseq": "leaseq_peer:LeaseqPeer",
    "leaseq-unbatched": "leaseq_raw:RawPeer",
    "leaseq-fused": "leaseq_raw:FusedPeer",
    "leaseq-raw-batched": "leaseq_raw:RawBatchedPeer",
    "leaseq-pg": "leaseq_peer:LeaseqPgPeer",
    "leaseq-pg-unbatched": "leaseq_raw:RawPgPeer",
    "leaseq-normal": "leaseq_peer:LeaseqNormalPeer",
    "celery": "celery_peer:PEER",
    "rq": "rq_peer:PEER",
    "dramatiq": "dramatiq_peer:PEER",
    "huey": "huey_peer:PEER",
    "procrastinate": "procrastinate_peer:PEER",
    "beanstalkd": "beanstalkd_peer:PEER",
}
# Run only when named: how much of leaseq's time is the fsync (not a durable setting).
OPTIONAL = {"leaseq-normal"}
DEFAULT = [name for name in MODULES if name not in OPTIONAL]
LEASEQ = [name for name in MODULES if name.startswith("leaseq")]
PEERS = [name for name in MODULES if not name.startswith("leaseq")]


class Skip(Exception):
    """This system cannot run here (e.g. the PostgreSQL backend is not merged yet)."""


@dataclass(frozen=True)
class Settings:
    """What every adapter may need; plain values so child processes can receive it."""

    work: Path
    redis_url: str = "redis://127.0.0.1:6379/11"
    pg_dsn: str = "postgresql://postgres@127.0.0.1:5432/test"
    worker_procs: int = 2
    extra: dict[str, Any] = field(default_factory=dict)


class Producer(ABC):
    """Enqueues job ``i`` (its argument is the index ``record`` will write)."""

    @abstractmethod
    def enqueue_one(self, i: int) -> None: ...

    def enqueue_bulk(self, indexes: Sequence[int]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        return None


class Peer(ABC):
    name = ""
    package = ""  # the distribution whose version is reported
    has_bulk = False
    durable = ""  # what an answered enqueue survives, on this machine
    worker_config = ""  # how the workers are started, in words

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.children: list[Child] = []
        self.workers: list[Child] = []

    @abstractmethod
    def setup(self) -> None:
        """Starts what the system needs and empties its store."""

    @staticmethod
    @abstractmethod
    def make_producer(settings: Settings) -> Producer: ...

    @abstractmethod
    def start_workers(self, starts_dir: Path) -> None:
        """Starts ``settings.worker_procs`` worker processes (or the peer's equivalent)."""

    def server_pids(self) -> list[int]:
        return []

    def requests(self) -> float | None:
        """Requests the servers answered so far, when they count them (leaseq)."""
        return None

    def worker_pids(self) -> list[int]:
        return [w.pid for w in self.workers]

    def stop_workers(self) -> None:
        for w in self.workers:
            w.stop()
        self.workers = []

    def stop(self) -> None:
        self.stop_workers()
        for c in self.children:
            c.stop()
        self.children = []

    def extras(self) -> dict[str, float]:
        """More numbers, measured once the workers are idle (e.g. leaseq against wrk)."""
        return {}

    def check_workers(self) -> None:
        for w in self.workers:
            if not w.alive():
                raise RuntimeError(f"{self.name} worker exited:\n{w.tail()}")


def load(name: str) -> type[Peer]:
    """The adapter class; ImportError when the peer's package is not installed."""
    module_name, _, attr = MODULES[name].partition(":")
    module = importlib.import_module(f"benchmarks.peers.{module_name}")
    cls: type[Peer] = getattr(module, attr)
    return cls
