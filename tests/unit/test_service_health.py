"""What the service answers for the routes that used to reach around it: ``health`` and
the retention purge."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from leaseq.errors import StorageUnavailable
from leaseq.server import service as service_module
from leaseq.server.config import Settings
from leaseq.server.service import Health, QueueService
from leaseq.server.storage import open_storage


async def _never_answers() -> None:
    await asyncio.sleep(10)


async def test_health_names_the_backend_of_the_database_url(tmp_path: Path) -> None:
    settings = Settings(db=f"sqlite:///{tmp_path / 'a.db'}")
    store = open_storage(settings.db)
    service = QueueService(store, settings)
    await service.open()
    try:
        assert await service.health() == Health("sqlite")
    finally:
        await service.close()
    assert QueueService(store, Settings(db="postgresql://h/db")).backend == "postgres"


async def test_a_store_that_does_not_answer_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service_module, "HEALTH_TIMEOUT_S", 0.05)
    settings = Settings(db=f"sqlite:///{tmp_path / 'b.db'}")
    store = open_storage(settings.db)
    monkeypatch.setattr(store, "ping", _never_answers)
    service = QueueService(store, settings)
    await service.open()
    try:
        with pytest.raises(StorageUnavailable, match="the store does not answer"):
            await service.health()
    finally:
        await service.close()


async def test_a_retention_of_zero_purges_nothing(tmp_path: Path) -> None:
    settings = Settings(db=f"sqlite:///{tmp_path / 'c.db'}", retention=0)
    service = QueueService(open_storage(settings.db), settings)
    await service.open()
    try:
        assert await service.purge_finished(10) == 0
    finally:
        await service.close()
