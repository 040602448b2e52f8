"""2. Server kill -9 on SQLite during a retrying load: nothing accepted lost, no
idempotency key creating two jobs, the file intact after every crash, no 5xx."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.conftest import MakeServer
from tests.chaos.scenarios import Size, server_kills
from tests.support.postgres import base_url, fresh_database

FAST = Size(jobs=3000, kill_every_s=1.5, kills=3, drain_timeout_s=60)
LONG = Size(jobs=50_000, kill_every_s=3.0, kills=20, drain_timeout_s=600)


def test_server_kill_9_fast(nodes: MakeServer, tmp_path: Path, seed: int) -> None:
    server_kills("server-kill-sqlite", [nodes()], tmp_path / "leaseq.db", tmp_path, FAST,
                 seed).assert_safe()  # fmt: skip


@pytest.mark.postgres
def test_postgres_node_kill_9_fast(tmp_path: Path, seed: int, nodes: MakeServer) -> None:
    """Two nodes on one PostgreSQL database; the first is killed and restarted."""
    with fresh_database(base_url()) as url:
        servers = [nodes(url), nodes(url)]
        try:
            server_kills("node-kill-postgres", servers, None, tmp_path, FAST, seed).assert_safe()
        finally:
            for s in servers:
                s.kill()


@pytest.mark.chaos
@pytest.mark.timeout(1800)
def test_server_kill_9_long(nodes: MakeServer, tmp_path: Path, seed: int) -> None:
    server_kills("server-kill-sqlite-long", [nodes()], tmp_path / "leaseq.db", tmp_path,
                 LONG, seed).assert_safe()  # fmt: skip
