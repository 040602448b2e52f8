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


IN_THE_DEFAULT_RUN = {"test_model.py", "test_claim_race.py"}
"""Chaos modules cheap enough for every run (in-process or one server, seconds). The
rest kill processes, flood sockets or fuzz for tens of seconds each: they are ``slow``,
run by ``pytest -m slow`` (CI runs it after the default run), and their long tiers are
``chaos``."""


@pytest.hookimpl(tryfirst=True)  # before -m deselects by marker
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        path = Path(str(item.fspath))
        if path.parent == Path(__file__).parent and path.name not in IN_THE_DEFAULT_RUN:
            if item.get_closest_marker("chaos") is None:
                item.add_marker(pytest.mark.slow)
