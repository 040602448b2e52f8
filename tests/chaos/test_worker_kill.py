"""1. Worker kill -9: SDK workers are killed and restarted while they run jobs.

Nothing accepted may be lost, no job completed twice, and every re-execution must be
explained by a recorded kill of the process that ran the job before.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.conftest import MakeServer
from tests.chaos.scenarios import Size, worker_kills

FAST = Size(jobs=2000, workers=4, kill_every_s=2.0, kills=4, drain_timeout_s=60)
LONG = Size(jobs=20_000, workers=8, kill_every_s=2.0, kills=60, drain_timeout_s=600)


def test_worker_kill_9_fast(nodes: MakeServer, tmp_path: Path, seed: int) -> None:
    figures = worker_kills("worker-kill-sqlite", nodes(), tmp_path, FAST, seed)
    figures.assert_safe()
    assert figures.faults > 0, "no worker was killed: the run ended too soon to test anything"


@pytest.mark.chaos
@pytest.mark.timeout(1800)
def test_worker_kill_9_long(nodes: MakeServer, tmp_path: Path, seed: int) -> None:
    worker_kills("worker-kill-sqlite-long", nodes(), tmp_path, LONG, seed).assert_safe()
