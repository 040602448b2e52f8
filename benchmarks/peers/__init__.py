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

# name -> module under benchmarks.peers; leaseq first, peers in the order.
MODULES = {
    "leaseq": "leaseq_peer",
    "celery": "celery_peer",
    "rq": "rq_peer",
    "dramatiq": "dramatiq_peer",
    "huey": "huey_peer",
    "procrastinate": "procrastinate_peer",
}


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

    def check_workers(self) -> None:
        for w in self.workers:
            if not w.alive():
                raise RuntimeError(f"{self.name} worker exited:\n{w.tail()}")


def load(name: str) -> type[Peer]:
    """The adapter class; ImportError when the peer's package is not installed."""
    module = importlib.import_module(f"benchmarks.peers.{MODULES[name]}")
    cls: type[Peer] = module.PEER
    return cls
