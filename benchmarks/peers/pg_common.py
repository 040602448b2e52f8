"""A fresh PostgreSQL database of the benchmark's own, next to the one it is given."""

from __future__ import annotations

import os
from urllib.parse import urlsplit, urlunsplit

import psycopg

DSN_ENV = "BENCH_PG_DSN"
DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"


def dsn() -> str:
    return os.environ.get(DSN_ENV, DEFAULT_DSN)


def with_db(base_dsn: str, name: str) -> str:
    parts = urlsplit(base_dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate(base_dsn: str, name: str) -> str:
    """Drops and creates database ``name``; returns its DSN."""
    with psycopg.connect(base_dsn, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_db(base_dsn, name)


def settings_line(base_dsn: str) -> str:
    with psycopg.connect(base_dsn) as conn:
        rows = conn.execute(
            "SELECT name, setting FROM pg_settings WHERE name IN "
            "('fsync', 'synchronous_commit', 'server_version')"
        ).fetchall()
    return " ".join(f"{k}={v}" for k, v in rows)
