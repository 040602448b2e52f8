"""The SQLite backend: ``SQLiteStorage`` (``store``), its writer and reader threads
(``thread``), its statements (``queries.sql``) and its migrations."""

from leaseq.server.storage.sqlite.store import SQLiteStorage

__all__ = ["SQLiteStorage"]
