"""One fixture, every backend: the conformance suite runs once per store.

Time-dependent contracts call ``store.advance(seconds)``: SQLite moves its fake clock;
a backend whose time comes from its database server sleeps for real (keep such steps
short).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from leaseq.clock import FakeClock
from leaseq.storage import Storage
from leaseq.storage.postgres import PostgresStorage
from leaseq.storage.sqlite import SQLiteStorage
from tests.support.postgres import base_url, fresh_database


@dataclass
class Store:
    storage: Storage
    clock: FakeClock | None

    async def advance(self, seconds: float) -> None:
        if self.clock is not None:
            self.clock.advance(seconds)
        else:
            await asyncio.sleep(seconds)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        clock = FakeClock()
        storage: Storage = SQLiteStorage(str(tmp_path / "conformance.db"), clock)
        await storage.open()
        yield Store(storage, clock)
        await storage.close()
        return
    with fresh_database(base_url()) as url:
        storage = PostgresStorage(url)
        await storage.open()
        yield Store(storage, None)
        await storage.close()
