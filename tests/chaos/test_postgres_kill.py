"""PostgreSQL itself killed with SIGKILL and restarted while two nodes serve a retrying
load. While it is down every request is answered within 5 s, with 503 (``/health``
too, so a load balancer takes the nodes out); within 10 s of its restart both nodes
enqueue and poll again, without a restart of their own; after the drain nothing
accepted is lost, no idempotency key made two jobs and no job was completed twice.

Runs on a private cluster (``tests.support.pgcluster``), so it needs the PostgreSQL
binaries but not ``LEASEQ_TEST_POSTGRES_URL``; it skips, with the reason, without them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.conftest import MakeServer
from tests.chaos.harness import history, wait_until
from tests.chaos.pg_outage import (
    ANSWER_LIMIT_S,
    RESUME_LIMIT_S,
    bad_answers,
    checked,
    during,
    kill_run,
)
from tests.support.pgcluster import PrivateCluster, private_cluster


def _listeners(cluster: PrivateCluster) -> int:
    with cluster.admin() as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'leaseq-listen'"
        ).fetchone()
    return int(row[0]) if row else 0


def _run(
    nodes: MakeServer, tmp_path: Path, seed: int, outages: int, last_s: float | None = None
) -> None:
    with private_cluster() as cluster:
        url = cluster.create_database("leaseq")
        servers = [nodes(url), nodes(url)]
        with history(tmp_path / "history.jsonl") as h:
            seen = kill_run("pg-kill", cluster, servers, h, seed, outages, last_s)
            figures = checked("pg-kill", seed, h, servers[0].url)
            # The LISTEN connection of each node came back too (cross-node wake-ups).
            listening = wait_until(lambda: _listeners(cluster) == len(servers), 15)
        windows = seen.pop("windows")
        figures.extra.update(seen)
        figures.assert_safe()
        answered = [(w, o) for w in windows for o in during(h, w)]
        # One line per request (a batch enqueue is one op per job).
        slow = {f"{o.op} {o.end - o.start:.1f}s" for _, o in answered
                if o.end - o.start >= ANSWER_LIMIT_S}  # fmt: skip
        not_503 = {f"{o.op} {o.status}" for w, o in answered
                   if o.end < w.down_until and o.status != 503}  # fmt: skip
        assert not slow, f"answers slower than {ANSWER_LIMIT_S}s while PostgreSQL was down: {slow}"
        assert not not_503, f"answers other than 503 while PostgreSQL was down: {not_503}"
        codes = {o.detail[:60] for _, o in answered if o.op == "poll" and o.status == 503
                 and o.detail and "storage_unavailable" not in o.detail}  # fmt: skip
        assert not codes, f"503 without storage_unavailable: {codes}"
        assert not bad_answers(h), f"requests dropped or answered 500: {bad_answers(h)}"
        # A probe that overlapped an outage counts: one sent just before a short outage
        # can take the whole outage to answer (HEALTH_TIMEOUT_S), the next one after it.
        health = {o.target for w in windows for o in h.ops
                  if o.op == "health" and o.status == 503 and o.start < w.end
                  and o.end > w.start}  # fmt: skip
        assert health == {s.url for s in servers}, "/health did not answer 503 on every node"
        assert seen["max_resume_s"] < RESUME_LIMIT_S, f"service resumed late: {figures.line()}"
        assert listening, f"LISTEN connections after the outages: {_listeners(cluster)}"


def test_postgres_killed_and_restarted(nodes: MakeServer, tmp_path: Path, seed: int) -> None:
    _run(nodes, tmp_path, seed, outages=2)


@pytest.mark.chaos
@pytest.mark.timeout(900)
def test_postgres_killed_and_restarted_long(nodes: MakeServer, tmp_path: Path, seed: int) -> None:
    """Five outages, the last of 40 s: longer than the pool's reconnection backoff had
    been letting a node notice the database back within 10 s."""
    _run(nodes, tmp_path, seed, outages=5, last_s=40.0)
