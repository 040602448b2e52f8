"""The database turns read-only under load (``default_transaction_read_only`` reloaded
into every session: what a failover onto a standby looks like to a client), then
writable again. Meanwhile writes (enqueue, poll, ack) are answered 503 with a message
that says the database is read-only, reads (``/stats``, job listings, a job,
``/health``) are answered 200, nothing hangs or answers 500; once it is writable both
nodes write again within 10 s without a restart, and after the drain nothing accepted
is lost. Runs on a private cluster, like ``test_postgres_kill``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.conftest import MakeServer
from tests.chaos.harness import history
from tests.chaos.pg_outage import (
    ANSWER_LIMIT_S,
    RESUME_LIMIT_S,
    WRITES,
    bad_answers,
    checked,
    during,
    read_only_run,
)
from tests.support.pgcluster import private_cluster


def _run(nodes: MakeServer, tmp_path: Path, seed: int, rounds: int) -> None:
    with private_cluster() as cluster:
        url = cluster.create_database("leaseq")
        servers = [nodes(url), nodes(url)]
        with history(tmp_path / "history.jsonl") as h:
            seen = read_only_run("pg-read-only", cluster, servers, h, seed, rounds)
            figures = checked("pg-read-only", seed, h, servers[0].url)
        windows = seen.pop("windows")
        reads = [o for o in h.ops if o.op == "read"]
        figures.extra.update(seen, reads=len(reads))
        figures.assert_safe()
        answered = [o for w in windows for o in during(h, w)]
        slow = {f"{o.op} {o.end - o.start:.1f}s" for o in answered
                if o.end - o.start >= ANSWER_LIMIT_S}  # fmt: skip
        writes = {f"{o.op} {o.status}" for o in answered
                  if o.op in WRITES and o.status not in (200, 201, 503)}  # fmt: skip
        refused = {o.target for o in answered if o.op == "poll" and o.status == 503
                   and "database is read-only" in (o.detail or "")}  # fmt: skip
        health = {o.status for o in answered if o.op == "health"}
        assert reads and all(o.status == 200 for o in reads), {
            (o.target, o.status, o.detail) for o in reads if o.status != 200
        }
        assert not slow, f"answers slower than {ANSWER_LIMIT_S}s while read-only: {slow}"
        assert not writes, f"writes answered other than 2xx or 503 while read-only: {writes}"
        assert refused == {s.url for s in servers}, "a node's polls were never refused read-only"
        assert health == {200}, f"/health while read-only: {health}"
        assert not bad_answers(h), f"requests dropped or answered 500: {bad_answers(h)}"
        assert seen["max_resume_s"] < RESUME_LIMIT_S, f"writes resumed late: {figures.line()}"


def test_postgres_turns_read_only(nodes: MakeServer, tmp_path: Path, seed: int) -> None:
    _run(nodes, tmp_path, seed, rounds=1)


@pytest.mark.chaos
@pytest.mark.timeout(900)
def test_postgres_turns_read_only_long(nodes: MakeServer, tmp_path: Path, seed: int) -> None:
    _run(nodes, tmp_path, seed, rounds=5)
