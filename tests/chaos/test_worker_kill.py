"""1. Worker kill -9: SDK workers are killed and restarted while they run jobs.

Nothing accepted may be lost, no job completed twice, and every re-execution must be
explained by a recorded kill of the process that ran the job before.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.conftest import MakeServer
from tests.chaos.scenarios import Size, worker_kills
from tests.support.server import ServerProcess

# Jobs take 50 ms (fast) and 100 ms (long) so that the drain lasts several kill periods:
# with no-op jobs the SDK drains 2,000 jobs before the first kill.
FAST = Size(jobs=2000, workers=4, kill_every_s=0.75, kills=4, drain_timeout_s=60, job_s=0.05)
LONG = Size(jobs=20_000, workers=8, kill_every_s=2.0, kills=60, drain_timeout_s=600, job_s=0.1)


def _servers(nodes: MakeServer, db_url: str) -> list[ServerProcess]:
    """SQLite is one node; PostgreSQL gets two nodes on one database."""
    return [nodes(db_url)] if db_url.startswith("sqlite") else [nodes(db_url), nodes(db_url)]


def _name(db_url: str) -> str:
    return "sqlite" if db_url.startswith("sqlite") else "postgres"


def test_worker_kill_9_fast(nodes: MakeServer, db_url: str, tmp_path: Path, seed: int) -> None:
    servers = _servers(nodes, db_url)
    figures = worker_kills(f"worker-kill-{_name(db_url)}", servers, tmp_path, FAST, seed)
    figures.assert_safe()
    assert figures.faults > 0, "no worker was killed: the run ended too soon to test anything"


@pytest.mark.chaos
@pytest.mark.timeout(1800)
def test_worker_kill_9_long(nodes: MakeServer, db_url: str, tmp_path: Path, seed: int) -> None:
    servers = _servers(nodes, db_url)
    worker_kills(f"worker-kill-{_name(db_url)}-long", servers, tmp_path, LONG, seed).assert_safe()
