"""3. Fencing: a worker paused (SIGSTOP) past its lease comes back and acks, fails,
heartbeats or releases with its old token; none of it may be accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.conftest import MakeServer
from tests.chaos.scenarios import stale_rounds


def _run(name: str, nodes: MakeServer, db_url: str, tmp: Path, rounds: int, seed: int) -> None:
    backend = "sqlite" if db_url.startswith("sqlite") else "postgres"
    figures = stale_rounds(f"{name}-{backend}", nodes(db_url), tmp, rounds, 10, seed)
    figures.assert_safe()
    assert figures.extra["stale_ops"] == 2 * rounds
    assert figures.extra["stale_accepted"] == 0 and figures.extra["stale_not_409"] == 0


def test_stale_worker_is_fenced_fast(
    nodes: MakeServer, db_url: str, tmp_path: Path, seed: int
) -> None:
    _run("stale", nodes, db_url, tmp_path, 50, seed)


@pytest.mark.chaos
@pytest.mark.timeout(1800)
def test_stale_worker_is_fenced_long(
    nodes: MakeServer, db_url: str, tmp_path: Path, seed: int
) -> None:
    _run("stale-long", nodes, db_url, tmp_path, 1000, seed)
