"""Storage backends behind one protocol; SQL lives only in this package.

``base`` is the protocol, ``common`` what the backends share that is not SQL, ``queries``
and ``migrations`` load each backend's ``.sql`` files; ``sqlite/`` and ``postgres/`` are
the backends, each with its store, its ``queries.sql`` and its ``migrations/``.
"""

from __future__ import annotations

from leaseq.core.clock import Clock, SystemClock
from leaseq.server.config import Durability
from leaseq.server.storage.base import Storage


def open_storage(
    url: str, *, durability: Durability = Durability.FULL, clock: Clock | None = None
) -> Storage:
    """Picks the backend from the URL scheme; the caller still awaits ``open()``."""
    if url.startswith("sqlite:///"):
        from leaseq.server.storage.sqlite import SQLiteStorage

        return SQLiteStorage(url.removeprefix("sqlite:///"), clock or SystemClock(), durability)
    if url.startswith(("postgresql://", "postgres://")):
        from leaseq.server.storage.postgres import PostgresStorage

        # The clock is not passed: PostgreSQL takes every ``now`` from the database
        # server, which all nodes share. Only tests inject one (``PostgresStorage``).
        return PostgresStorage(url)
    raise ValueError(f"unsupported database URL: {url!r}")


__all__ = ["Storage", "open_storage"]
