"""Fixtures of the in-process tier: the real app on SQLite in ``tmp_path``, no process.

Every app here comes from ``tests.support.inproc.build_app``. The subprocess fixtures of
``tests/conftest.py`` are shadowed so that a test in this folder cannot start a server
process by accident.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

import leaseq
from leaseq.core.clock import FakeClock
from leaseq.server.notifier import Notifier
from leaseq.server.service import QueueService
from leaseq.server.storage.sqlite import SQLiteStorage
from tests.support.inproc import (
    BASE_URL,
    FAST,
    InProcessServer,
    async_http,
    build_app,
    lifespan,
    settings_for,
)

MakeServer = Callable[..., InProcessServer]


@pytest.fixture
def app_server_factory(tmp_path: Path) -> Iterator[MakeServer]:
    """``make(**settings)``: a started in-process server; ``settings`` as for ``Settings``
    (nothing fast by default, like ``server_factory``)."""
    started: list[InProcessServer] = []

    def make(**overrides: Any) -> InProcessServer:
        server = InProcessServer(settings_for(tmp_path, **overrides))
        started.append(server.start())
        return server

    yield make
    for server in reversed(started):
        server.close()


@pytest.fixture
def app_server(app_server_factory: MakeServer) -> InProcessServer:
    """Fast retries and reaping on a fresh SQLite file, as the ``server`` fixture."""
    return app_server_factory(**FAST)


@pytest.fixture
def http(app_server: InProcessServer) -> httpx.Client:
    return app_server.client(timeout=10)


@pytest.fixture
def client(app_server: InProcessServer) -> Iterator[leaseq.Client]:
    """The SDK's sync client through its ``transport=`` seam."""
    retry = leaseq.RetryPolicy(max_seconds=2)
    with leaseq.Client(BASE_URL, retry=retry, transport=app_server.transport()) as c:
        yield c


@pytest.fixture
async def running_app(tmp_path: Path) -> AsyncIterator[Starlette]:
    """The app with its lifespan running on the test's own event loop (fast settings)."""
    app = build_app(settings_for(tmp_path, **FAST))
    async with lifespan(app):
        yield app


@pytest.fixture
async def ahttp(running_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with async_http(running_app) as client:
        yield client


@pytest.fixture
def server() -> None:
    raise RuntimeError("tests/app is in-process: use app_server, http or running_app")


@pytest.fixture
def server_factory() -> None:
    raise RuntimeError("tests/app is in-process: use app_server_factory")


@dataclass
class Service:
    """A ``QueueService`` over SQLite in ``tmp_path`` on a clock that moves when told."""

    service: QueueService
    clock: FakeClock
    storage: SQLiteStorage
    notifier: Notifier
    """The service's parts, held by the test that built it: the service keeps its own
    private, so these are the only handles a test has on them."""


@pytest.fixture
async def svc(tmp_path: Path) -> AsyncIterator[Service]:
    clock = FakeClock()
    storage = SQLiteStorage(str(tmp_path / "service.db"), clock)
    notifier = Notifier()
    service = QueueService(storage, settings_for(tmp_path, **FAST), notifier)
    await service.open()
    try:
        yield Service(service, clock, storage, notifier)
    finally:
        service.stop_waiting()
        await service.close()
