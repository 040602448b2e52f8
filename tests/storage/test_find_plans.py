"""The plans of ``GET /jobs?tag=&task=`` on both backends: a page walks the index of what
it filters on, newest first, and never the jobs without the tag or task.

Each store holds 20,000 jobs without the tag or task and a few with them, statistics
taken, and the plan is asked for the listing's own statement (``common.listing_filter``
filled into ``list_jobs``), with its parameters: no scan of ``jobs`` or ``job_tags``,
the order from the index (no sort of what the walk reads), the tag's rows read from
``job_tags``' primary key and the task's from ``jobs_by_task``.
"""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import psycopg
import pytest

from leaseq.core.model import JobFilter, JobState, NewJob
from leaseq.server.storage import common, queries
from leaseq.server.storage.postgres import PostgresStorage
from leaseq.server.storage.postgres import jobs as pg_jobs
from leaseq.server.storage.sqlite import SQLiteStorage
from tests.storage.conftest import Store

UNRELATED = 20_000
CASES = [
    pytest.param(JobFilter(tags=("needle",)), None, id="tag"),
    pytest.param(JobFilter(tags=("needle", "pin")), None, id="two-tags"),
    pytest.param(JobFilter(tags=("needle",)), JobState.QUEUED, id="tag-and-state"),
    pytest.param(JobFilter(task="rare"), None, id="task"),
]


async def fill(store: Store) -> None:
    for _ in range(UNRELATED // 1000):
        batch = [NewJob(payload="{}", task="common", tags=("hay",)) for _ in range(1000)]
        await store.storage.enqueue(batch)
    few = [NewJob(payload="{}", task="rare", tags=("needle", "pin")) for _ in range(5)]
    await store.storage.enqueue(few)


def sqlite_plan(path: str, match: JobFilter, state: JobState | None) -> list[str]:
    found = common.listing_filter(state, None, "999999999", "?", match, ("?", 0))
    q = queries.load("leaseq.server.storage.sqlite")["list_jobs"]
    sql = queries.fill(q, source=found.source, where=found.where, seq=found.seq)
    with sqlite3.connect(path) as conn:
        conn.execute("ANALYZE")
        rows = conn.execute(f"EXPLAIN QUERY PLAN {sql}", (*found.params, 101)).fetchall()
    return [row[3] for row in rows]


def pg_plan(url: str, match: JobFilter, state: JobState | None) -> list[dict[str, Any]]:
    sql, params = pg_jobs.listing(state, None, 100, "999999999", 1 << 24, match)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("ANALYZE")
        row = conn.execute(f"EXPLAIN (FORMAT JSON) {sql}", params).fetchone()
    assert row is not None
    plan = row[0] if isinstance(row[0], list) else json.loads(row[0])
    nodes: list[dict[str, Any]] = []

    def walk(node: dict[str, Any]) -> None:
        nodes.append(node)
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    return nodes


@pytest.mark.parametrize(("match", "state"), CASES)
async def test_a_listing_by_tag_or_task_walks_its_index(
    store: Store, match: JobFilter, state: JobState | None
) -> None:
    await fill(store)
    if isinstance(store.storage, SQLiteStorage):
        steps = sqlite_plan(store.storage._path, match, state)
        assert not [s for s in steps if s.startswith("SCAN")], steps
        assert not [s for s in steps if "TEMP B-TREE" in s], steps
        if match.tags:
            assert any(s.startswith("SEARCH g USING PRIMARY KEY (tag=? AND seq<?)") for s in steps)
            assert any("jobs USING INTEGER PRIMARY KEY" in s for s in steps), steps
        else:
            assert any("USING INDEX jobs_by_task (task=? AND seq<?)" in s for s in steps), steps
        return
    assert isinstance(store.storage, PostgresStorage)
    nodes = pg_plan(store.storage._url, match, state)
    kinds = [(n["Node Type"], n.get("Relation Name"), n.get("Index Name")) for n in nodes]
    assert not [k for k in kinds if k[0] in ("Seq Scan", "Bitmap Heap Scan")], kinds
    walked = "job_tags_pkey" if match.tags else "jobs_by_task"
    scan = next(n for n in nodes if n.get("Index Name") == walked)  # the walk, then probes
    assert scan["Scan Direction"] == "Backward", scan  # newest first, from the index
    for node in nodes:  # the planner expects to read the few, not the 20,000; the one
        assert node.get("Plan Rows", 0) < 1000, node  # sort is of the page's rows
