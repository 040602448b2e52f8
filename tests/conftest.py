from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support import inproc
from tests.support.server import ServerProcess

# The fast settings of the in-process tier, as ``leaseq serve`` flags:
# --retry-base 0.2 --retry-cap 2 --reap-interval 0.2.
FAST = [arg for k, v in inproc.FAST.items() for arg in (f"--{k.replace('_', '-')}", str(v))]


@pytest.fixture
def server_factory(tmp_path: Path) -> Iterator[type[ServerProcess] | object]:
    started: list[ServerProcess] = []

    def make(*extra: str, db_url: str | None = None, start: bool = True) -> ServerProcess:
        n = len(started)
        url = db_url or f"sqlite:///{tmp_path / 'leaseq.db'}"
        server = ServerProcess(url, tmp_path / f"server{n}.log", extra)
        started.append(server)
        if start:
            server.start()
        return server

    yield make
    for server in started:
        server.kill()


@pytest.fixture
def server(server_factory) -> ServerProcess:  # type: ignore[no-untyped-def]
    """A server with fast retries and reaping, on a fresh SQLite file."""
    return server_factory(*FAST)  # type: ignore[no-any-return]


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=10) as client:
        yield client
