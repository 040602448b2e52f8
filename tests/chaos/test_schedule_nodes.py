"""Schedules on three server nodes sharing one PostgreSQL database, while nodes are killed
(SIGKILL, mid-pass as likely as not) and restarted: every ``every: 1`` slot has exactly
one job. There is no leader; each node's reaper takes due slots each pass (0.2 s here),
and the store's guarded write decides.

Checked from the database after the run, for each schedule:
- duplicates: a slot with more than one job or more than one run: must be 0;
- missing: a slot while some node was up (from its first healthy answer until its kill,
  for ``GRACE_S`` after the slot) with no job: must be 0;
- accounted: every slot from the schedule's creation to its last one taken is a job or
  counted in the ``skipped`` of the run after it (downtime), never silently lost; slots
  while every node was down are caught up as one job, not a burst.
The figures are printed (``-s``) for docs/reliability.md.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import psycopg
import pytest
from psycopg.rows import namedtuple_row

from leaseq.core.model import NewJob
from leaseq.core.schedules import Cadence, ScheduleSpec
from leaseq.server.storage.postgres import PostgresStorage
from tests.chaos.conftest import MakeServer
from tests.support.postgres import base_url, fresh_database
from tests.support.server import ServerProcess

pytestmark = pytest.mark.postgres

GRACE_S = 1.5
"""A slot is owed a job of its own when a node was up from the slot until this long after
it: a reaper pass (0.2 s) plus a loaded machine's slack."""
QUEUE = "scheduled"


@dataclass(frozen=True)
class Plan:
    seconds: float
    schedules: int
    outage_s: float
    """Once, every node down this long: those slots are caught up as one job each."""


FAST = Plan(seconds=16, schedules=3, outage_s=2.5)
LONG = Plan(seconds=60, schedules=5, outage_s=4.0)


@dataclass
class Figures:
    slots: int = 0
    covered: int = 0
    jobs: int = 0
    missing: int = 0
    duplicates: int = 0
    unaccounted: int = 0
    skipped: int = 0
    kills: int = 0
    restarts: int = 0
    max_lag_s: float = 0.0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return (
            f"schedules on 3 nodes: {self.slots} slots ({self.covered} while a node was up),"
            f" {self.jobs} jobs, missing {self.missing}, duplicates {self.duplicates},"
            f" unaccounted {self.unaccounted}, {self.skipped} skipped during the outage,"
            f" {self.kills} kills, {self.restarts} restarts, max lag {self.max_lag_s:.2f} s"
        )


class Nodes:
    """The three servers and the intervals each was known up (healthy until killed)."""

    def __init__(self, servers: list[ServerProcess]) -> None:
        self.servers = servers
        now = time.time()
        self.up: list[list[float]] = [[now, float("inf")] for _ in servers]
        self.intervals: list[tuple[float, float]] = []
        self.kills = self.restarts = 0

    def alive(self) -> list[int]:
        return [i for i, s in enumerate(self.servers) if s.proc and s.proc.poll() is None]

    def kill(self, i: int, counted: bool = True) -> None:
        self.intervals.append((self.up[i][0], time.time()))
        self.servers[i].kill()
        self.kills += counted

    def restart(self, i: int) -> None:
        self.servers[i].start()
        self.up[i] = [time.time(), float("inf")]
        self.restarts += 1

    def finish(self) -> None:
        for i in self.alive():
            self.kill(i, counted=False)


def _faults(nodes: Nodes, plan: Plan, rng: random.Random) -> None:
    """Kills and restarts for ``plan.seconds``: one node at a time while two or more are
    up, and once, half-way, all of them for ``plan.outage_s``. Bounded in steps and time."""
    start = time.monotonic()
    outage_done = False
    for _ in range(200):
        if time.monotonic() - start >= plan.seconds:
            return
        time.sleep(rng.uniform(0.8, 2.0))
        alive = nodes.alive()
        dead = [i for i in range(len(nodes.servers)) if i not in alive]
        if not outage_done and time.monotonic() - start > plan.seconds / 2:
            for i in alive:
                nodes.kill(i)
            time.sleep(plan.outage_s)
            nodes.restart(rng.choice(range(len(nodes.servers))))
            outage_done = True
        elif len(alive) >= 2 or (dead and rng.random() < 0.3):
            nodes.kill(rng.choice(alive))
        else:
            nodes.restart(rng.choice(dead))
        if not nodes.alive():
            nodes.restart(rng.choice(range(len(nodes.servers))))


async def _put_schedules(url: str, n: int) -> None:
    store = PostgresStorage(url)
    await store.open()
    try:
        for i in range(n):
            job = NewJob(payload=f'{{"schedule":{i}}}', queue=QUEUE)
            await store.put_schedule(ScheduleSpec(f"s{i}", Cadence(every_ms=1000), job))
    finally:
        await store.close()


def _rows(url: str, query: str) -> list[Any]:
    with psycopg.connect(url, row_factory=namedtuple_row) as conn:
        return conn.execute(query).fetchall()


def _check(url: str, nodes: Nodes, end: float) -> Figures:
    figures = Figures(kills=nodes.kills, restarts=nodes.restarts)
    jobs = _rows(url, f"SELECT idempotency_key FROM jobs WHERE queue = '{QUEUE}'")
    keys = Counter(r.idempotency_key for r in jobs)
    figures.jobs = sum(keys.values())
    runs = _rows(url, "SELECT schedule, slot, at, skipped, job_id FROM schedule_runs ORDER BY slot")
    schedules = _rows(url, "SELECT name, since, last_slot FROM schedules ORDER BY name")
    per_slot = Counter((r.schedule, r.slot) for r in runs)
    figures.duplicates = sum(n - 1 for n in per_slot.values()) + sum(n - 1 for n in keys.values())
    for s in schedules:
        mine = [r for r in runs if r.schedule == s.name]
        by_slot = {r.slot: r for r in mine}
        first = (s.since // 1000 + 1) * 1000
        last_owed = int(end - GRACE_S) * 1000
        expected = first
        for r in mine:  # each run accounts for itself and the slots skipped before it
            if r.slot != expected + r.skipped * 1000:
                figures.unaccounted += 1
                figures.notes.append(f"{s.name}: run at slot {r.slot} after {expected}")
            expected = r.slot + 1000
            figures.skipped += r.skipped
        for slot in range(first, last_owed + 1, 1000):
            figures.slots += 1
            if not any(a <= slot / 1000 and slot / 1000 + GRACE_S <= b for a, b in nodes.intervals):
                continue
            figures.covered += 1
            run = by_slot.get(slot)
            if run is None or run.job_id is None:
                figures.missing += 1
                figures.notes.append(f"{s.name}: slot {slot} has no job")
            else:
                figures.max_lag_s = max(figures.max_lag_s, (run.at - slot) / 1000)
    return figures


def _run(nodes: MakeServer, seed: int, plan: Plan) -> Figures:
    rng = random.Random(seed)
    with fresh_database(base_url()) as url:
        cluster = Nodes([nodes(url) for _ in range(3)])
        asyncio.run(_put_schedules(url, plan.schedules))
        try:
            _faults(cluster, plan, rng)
            time.sleep(GRACE_S + 0.5)  # the last slots owed get their pass
        finally:
            end = time.time()
            cluster.finish()
        figures = _check(url, cluster, end)
    print("\n" + figures.line())
    return figures


def _assert_exactly_once(figures: Figures) -> None:
    assert figures.duplicates == 0, figures.notes
    assert figures.missing == 0, figures.notes
    assert figures.unaccounted == 0, figures.notes
    assert figures.covered > 0 and figures.kills > 0 and figures.skipped > 0


@pytest.mark.timeout(240)
def test_schedules_on_three_nodes_with_kills(nodes: MakeServer, seed: int) -> None:
    _assert_exactly_once(_run(nodes, seed, FAST))


@pytest.mark.chaos
@pytest.mark.timeout(600)
def test_schedules_on_three_nodes_with_kills_60s(nodes: MakeServer, seed: int) -> None:
    _assert_exactly_once(_run(nodes, seed, LONG))
