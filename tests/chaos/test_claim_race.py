"""4. Claim race: many concurrent pollers, and each job is leased exactly once."""

from __future__ import annotations

from pathlib import Path

from tests.chaos.conftest import MakeServer
from tests.chaos.scenarios import claim_race


def test_16_pollers_lease_each_of_10000_jobs_once(
    nodes: MakeServer, db_url: str, tmp_path: Path, seed: int
) -> None:
    backend = "sqlite" if db_url.startswith("sqlite") else "postgres"
    figures = claim_race(f"claim-race-{backend}", nodes(db_url), tmp_path, 10_000, 16, seed)
    figures.assert_safe()
    assert figures.extra["leased_jobs"] == 10_000
    assert figures.extra["leased_more_than_once"] == 0
    assert figures.extra["server_5xx"] == 0
