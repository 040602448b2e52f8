"""Fixtures of the chaos tests: a seed per run (``LEASEQ_CHAOS_SEED`` replays one) and
server nodes that the test may kill and restart."""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.chaos.scenarios import FAST_SERVER
from tests.support.postgres import base_url, fresh_database
from tests.support.server import ServerProcess

MakeServer = Callable[..., ServerProcess]


@pytest.fixture
def seed() -> int:
    value = int(os.environ.get("LEASEQ_CHAOS_SEED") or random.randrange(2**31))
    print(f"chaos seed {value} (replay with LEASEQ_CHAOS_SEED={value})")
    return value


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The store every node of a test shares: a SQLite file, or a fresh PostgreSQL
    database (skipped without ``LEASEQ_TEST_POSTGRES_URL``)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'leaseq.db'}"
        return
    with fresh_database(base_url()) as url:
        yield url


@pytest.fixture
def nodes(tmp_path: Path) -> Iterator[MakeServer]:
    """Starts servers on loopback; every one left running is killed at the end."""
    started: list[ServerProcess] = []

    def make(db_url: str | None = None, *extra: str) -> ServerProcess:
        url = db_url or f"sqlite:///{tmp_path / 'leaseq.db'}"
        server = ServerProcess(url, tmp_path / f"server{len(started)}.log", [*FAST_SERVER, *extra])
        started.append(server)
        server.start()
        return server

    yield make
    for server in started:
        server.kill()
