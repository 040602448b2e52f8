"""Three nodes on one PostgreSQL database, SDK workers spread over them: every job DONE,
and none executed twice while its lease was live (no faults here, so any re-execution is
unexplained and fails the run)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.conftest import MakeServer
from tests.chaos.scenarios import Size, worker_kills
from tests.support.postgres import base_url, fresh_database

pytestmark = pytest.mark.postgres

FAST = Size(jobs=3000, workers=8, kills=0, drain_timeout_s=240)
LONG = Size(jobs=20_000, workers=8, kills=0, drain_timeout_s=900)


def _run(nodes: MakeServer, tmp_path: Path, seed: int, size: Size) -> None:
    with fresh_database(base_url()) as url:
        servers = [nodes(url) for _ in range(3)]
        figures = worker_kills("three-nodes", servers, tmp_path, size, seed, lease_s=30.0)
    figures.assert_safe()
    assert figures.faults == 0 and figures.unexplained == 0


@pytest.mark.timeout(300)
def test_three_nodes_eight_workers(nodes: MakeServer, tmp_path: Path, seed: int) -> None:
    _run(nodes, tmp_path, seed, FAST)


@pytest.mark.chaos
@pytest.mark.timeout(1800)
def test_three_nodes_eight_workers_20000_jobs(nodes: MakeServer, tmp_path: Path, seed: int) -> None:
    _run(nodes, tmp_path, seed, LONG)
