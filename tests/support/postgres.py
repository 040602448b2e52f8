"""Throwaway PostgreSQL databases for tests, one per test, so that runs (and tests) never
see each other's rows. Needs ``LEASEQ_TEST_POSTGRES_URL`` pointing at a server where the
user may create databases; without it PostgreSQL tests skip."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
from psycopg import sql

POSTGRES_URL_VAR = "LEASEQ_TEST_POSTGRES_URL"
SKIP_REASON = f"PostgreSQL tests need {POSTGRES_URL_VAR} (see .ci/run)"

needs_postgres = [
    pytest.mark.postgres,
    pytest.mark.skipif(not os.environ.get(POSTGRES_URL_VAR), reason=SKIP_REASON),
]
"""``pytestmark`` for modules whose every test needs PostgreSQL."""


def base_url() -> str:
    url = os.environ.get(POSTGRES_URL_VAR)
    if not url:
        pytest.skip(SKIP_REASON)
    return url


@contextmanager
def fresh_database(url: str) -> Iterator[str]:
    """Creates an empty database next to the one ``url`` names, yields its URL, and drops
    it afterwards even if connections to it are still open."""
    name = f"leaseq_test_{secrets.token_hex(6)}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield urlunsplit(urlsplit(url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
