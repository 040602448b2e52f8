"""The PostgreSQL backend: ``PostgresStorage`` (``store``), its pool (``connection``),
its LISTEN task (``listen``), its statements (``queries.sql``) and its migrations."""

from leaseq.server.storage.postgres.store import PostgresStorage

__all__ = ["PostgresStorage"]
