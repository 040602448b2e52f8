"""Versioned schema migrations: each backend's ``migrations/`` folder of ``NNNN_name.sql``.

Each backend applies the files above its recorded version inside a transaction it holds
exclusively (SQLite: ``BEGIN IMMEDIATE``; PostgreSQL: an advisory lock), so several nodes
starting at once apply each migration exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


def load(backend: str) -> list[Migration]:
    """The migrations of ``backend`` ("sqlite" or "postgres") in version order."""
    folder = resources.files(f"leaseq.server.storage.{backend}.migrations")
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            version, _, name = entry.name.removesuffix(".sql").partition("_")
            found.append(Migration(int(version), name, entry.read_text(encoding="utf-8")))
    return sorted(found, key=lambda m: m.version)
