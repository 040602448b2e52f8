"""3. Fencing: a worker paused (SIGSTOP) past its lease comes back and acks, fails,
heartbeats or releases with its old token; none of it may be accepted. The same after a
timeout or a cancel, with heartbeats carrying progress and checkpoints
(``steer_rounds``): accepted 0, written 0."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.conftest import MakeServer
from tests.chaos.scenarios import stale_rounds
from tests.chaos.steer_rounds import steer_rounds


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


def _steer(name: str, nodes: MakeServer, db_url: str, rounds: int, seed: int) -> None:
    backend = "sqlite" if db_url.startswith("sqlite") else "postgres"
    tally = steer_rounds(f"{name}-{backend}", nodes(db_url), rounds, 10, seed)
    print(f"\n{name} {backend}: {dict(tally)}")
    assert tally["stale_ops"] == 4 * rounds
    assert tally["stale_accepted"] == tally["stale_wrong_code"] == 0
    assert tally["stale_written"] == tally["wrong_state"] == 0


def test_stale_worker_after_timeout_or_cancel_is_fenced_fast(
    nodes: MakeServer, db_url: str, seed: int
) -> None:
    _steer("steer", nodes, db_url, 50, seed)


@pytest.mark.chaos
@pytest.mark.timeout(1800)
def test_stale_worker_after_timeout_or_cancel_is_fenced_long(
    nodes: MakeServer, db_url: str, seed: int
) -> None:
    _steer("steer-long", nodes, db_url, 1000, seed)
