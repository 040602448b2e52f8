"""One fixture, every backend: the conformance suite runs once per store.

Every backend runs on a ``FakeClock`` (PostgreSQL takes its time as a parameter instead
of the database server's), so time-dependent contracts call ``store.advance(seconds)``
and never sleep. That PostgreSQL uses the server's clock when no clock is injected is
tested in ``test_postgres``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from leaseq.core.clock import FakeClock
from leaseq.server.storage import Storage
from leaseq.server.storage.postgres import PostgresStorage
from leaseq.server.storage.sqlite import SQLiteStorage
from tests.support.postgres import base_url, fresh_database


@dataclass
class Store:
    storage: Storage
    clock: FakeClock
    make: Callable[[FakeClock], Storage] = field(repr=False)
    """Another storage object on the same store, on the given clock: another node, or
    (on this store's own clock) a restart."""

    def advance(self, seconds: float) -> None:
        self.clock.advance(seconds)

    def set_time(self, ms: int) -> None:
        self.clock.advance((ms - self.clock.now_ms()) / 1000)

    async def reopen(self) -> None:
        """Closes the store and opens it again on the same database (a restart)."""
        await self.storage.close()
        self.storage = self.make(self.clock)
        await self.storage.open()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    clock = FakeClock()
    if request.param == "sqlite":
        path = str(tmp_path / "conformance.db")
        opened = Store(SQLiteStorage(path, clock), clock, lambda c: SQLiteStorage(path, c))
        await opened.storage.open()
        yield opened
        await opened.storage.close()
        return
    with fresh_database(base_url()) as url:
        opened = Store(PostgresStorage(url, clock), clock, lambda c: PostgresStorage(url, c))
        await opened.storage.open()
        yield opened
        await opened.storage.close()
