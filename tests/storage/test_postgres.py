"""What only the PostgreSQL backend promises: several storages (nodes) on one database.

The conformance suite holds PostgreSQL to the Storage contracts; these tests add the
multi-node ones: migrations applied once, claims and lease expiry never doubled, NOTIFY
reaching the other node, and quick failure when the database is away.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest

from leaseq.core.commands import Ack
from leaseq.core.model import JobRecord, JobState, NewJob
from leaseq.errors import InvalidRequest, StorageUnavailable
from leaseq.server.storage import migrations
from leaseq.server.storage.postgres import PostgresStorage, connection
from leaseq.server.storage.postgres import jobs as pg_jobs
from tests.support.postgres import base_url, fresh_database, needs_postgres

pytestmark = needs_postgres


@pytest.fixture
def db_url() -> Iterator[str]:
    with fresh_database(base_url()) as url:
        yield url


@pytest.fixture
async def nodes(db_url: str) -> AsyncIterator[list[PostgresStorage]]:
    """Two opened storages on one database: two server nodes, as far as storage goes."""
    opened = [PostgresStorage(db_url), PostgresStorage(db_url)]
    for storage in opened:
        await storage.open()
    yield opened
    for storage in opened:
        await storage.close()


def _specs(n: int, queue: str = "default") -> list[NewJob]:
    return [NewJob(payload=f'{{"n": {i}}}', queue=queue) for i in range(n)]


async def test_concurrent_opens_apply_each_migration_once(db_url: str) -> None:
    storages = [PostgresStorage(db_url) for _ in range(3)]
    try:
        await asyncio.gather(*(s.open() for s in storages))
    finally:
        await asyncio.gather(*(s.close() for s in storages))
    with psycopg.connect(db_url) as conn:
        rows = conn.execute("SELECT version FROM schema_migrations ORDER BY version").fetchall()
    assert [v for (v,) in rows] == [m.version for m in migrations.load("postgres")]


async def test_concurrent_claims_across_nodes_lease_each_job_once(
    nodes: list[PostgresStorage],
) -> None:
    await nodes[0].enqueue(_specs(1000))
    await nodes[1].enqueue(_specs(1000))
    taken: list[str] = []

    async def claimer(storage: PostgresStorage, owner: str) -> None:
        while jobs := await storage.claim(["default"], owner, 7, 60_000):
            assert all(j.state is JobState.LEASED and j.lease_owner == owner for j in jobs)
            taken.extend(j.id for j in jobs)

    await asyncio.gather(*(claimer(nodes[i % 2], f"w{i}") for i in range(8)))
    assert len(taken) == 2000
    assert len(set(taken)) == 2000


async def test_claim_takes_best_jobs_across_queues_in_poll_order(
    nodes: list[PostgresStorage],
) -> None:
    a, _ = nodes
    await a.enqueue([NewJob(payload="1", queue="q1", priority=1)])
    await a.enqueue([NewJob(payload="2", queue="q2", priority=5)])
    await a.enqueue([NewJob(payload="3", queue="q1", priority=5)])
    await a.enqueue([NewJob(payload="4", queue="q3", priority=9)])  # not polled
    jobs = await a.claim(["q1", "q2", "q1"], "w", 2, 60_000)
    assert [j.payload for j in jobs] == ["2", "3"]


async def test_notify_from_one_node_wakes_another_within_100ms(db_url: str) -> None:
    woken: asyncio.Queue[tuple[float, list[str]]] = asyncio.Queue()
    a, b = PostgresStorage(db_url), PostgresStorage(db_url)
    b.set_wakeup(lambda queues: woken.put_nowait((time.perf_counter(), queues)))
    await a.open()
    await b.open()
    try:
        start = time.perf_counter()
        await a.enqueue(_specs(3, queue="emails"))
        at, queues = await asyncio.wait_for(woken.get(), 1)
        assert queues == ["emails"]
        assert at - start < 0.1
    finally:
        await a.close()
        await b.close()


async def test_wakeups_resume_after_the_listen_connection_is_killed(db_url: str) -> None:
    woken: asyncio.Queue[list[str]] = asyncio.Queue()
    a, b = PostgresStorage(db_url), PostgresStorage(db_url)
    b.set_wakeup(woken.put_nowait)
    await a.open()
    await b.open()
    try:
        assert _terminate_backends(db_url, application="leaseq-listen") == 1
        deadline = time.monotonic() + 5
        while woken.empty():  # the listener is back once a later NOTIFY gets through
            assert time.monotonic() < deadline, "the listener did not reconnect"
            await a.enqueue(_specs(1, queue="back"))
            await asyncio.sleep(0.1)
        assert await woken.get() == ["back"]
    finally:
        await a.close()
        await b.close()


async def test_pool_recovers_after_its_connections_are_killed(
    db_url: str, nodes: list[PostgresStorage]
) -> None:
    a, _ = nodes
    await a.ping()
    assert _terminate_backends(db_url) >= 2
    await a.ping()  # checked connections: the dead ones are replaced, not handed out
    (job, _), *_ = await a.enqueue(_specs(1))
    assert (await a.get(job.id)) == job


async def test_concurrent_lease_expiry_never_processes_a_job_twice(
    nodes: list[PostgresStorage],
) -> None:
    a, b = nodes
    await a.enqueue(_specs(600))
    while await a.claim(["default"], "w", 100, 1):  # leases of 1 ms run out at once
        pass
    await asyncio.sleep(0.05)
    expired: list[str] = []

    async def reaper(storage: PostgresStorage) -> None:
        while jobs := await storage.expire_leases(25):
            expired.extend(j.id for j in jobs)

    await asyncio.gather(reaper(a), reaper(b), reaper(a), reaper(b))
    assert len(expired) == 600
    assert Counter(expired).most_common(1)[0][1] == 1
    stats = await a.stats()
    assert stats["default"].counts[JobState.QUEUED] == 600


async def test_racing_idempotent_enqueues_on_two_nodes_make_one_job(
    nodes: list[PostgresStorage],
) -> None:
    spec = NewJob(payload="{}", idempotency_key="once")
    results = await asyncio.gather(*(nodes[i % 2].enqueue([spec]) for i in range(10)))
    assert len({job.id for ((job, _),) in results}) == 1
    assert sum(new for ((_, new),) in results) == 1


async def test_a_rolled_back_enqueue_runs_again_from_the_start(
    nodes: list[PostgresStorage], monkeypatch: pytest.MonkeyPatch
) -> None:
    real, calls = pg_jobs.existing, []

    async def rolled_back_once(conn: Any, skipped: list[JobRecord]) -> Any:
        calls.append(1)
        if len(calls) == 1:  # as a deadlock victim or a purged idempotency key would be
            raise connection.Retry("rolled back by the test")
        return await real(conn, skipped)

    monkeypatch.setattr(pg_jobs, "existing", rolled_back_once)
    # Keyed: the keys are looked up inside the transaction, after the insert. Had the
    # first insert survived, the second run would find every key taken.
    specs = [NewJob(payload="{}", idempotency_key=f"k{i}") for i in range(3)]
    results = await nodes[0].enqueue(specs)
    assert len(calls) == 2
    assert all(new for _, new in results)
    assert (await nodes[0].stats())["default"].counts[JobState.QUEUED] == 3


async def test_text_postgres_cannot_store_is_an_invalid_request(
    nodes: list[PostgresStorage],
) -> None:
    with pytest.raises(InvalidRequest):
        await nodes[0].enqueue([NewJob(payload="{}", task="nul\x00byte")])


async def test_times_come_from_the_database_clock(nodes: list[PostgresStorage]) -> None:
    ((job, _),) = await nodes[0].enqueue(_specs(1))
    with psycopg.connect(base_url()) as conn:
        row = conn.execute("SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint")
        (db_now,) = row.fetchone() or (0,)
    assert 0 <= db_now - job.created_at < 5_000


async def test_unreachable_database_is_storage_unavailable_not_a_hang() -> None:
    storage = PostgresStorage("postgresql://postgres@127.0.0.1:1/test")
    start = time.monotonic()
    with pytest.raises(StorageUnavailable, match="PostgreSQL"):
        await storage.open()
    assert time.monotonic() - start < 5
    await storage.close()


async def test_a_read_only_database_refuses_writes_clearly_and_still_answers_reads(
    db_url: str, nodes: list[PostgresStorage]
) -> None:
    """A failover onto a standby, as a client sees it: writes are refused with a message
    that says why; reads, stats (which folds the count ledger first) included, go on."""
    a, _ = nodes
    ((job, _),) = await a.enqueue(_specs(1))
    name = db_url.rsplit("/", 1)[-1]
    with psycopg.connect(base_url(), autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    _terminate_backends(db_url)  # the setting reaches new sessions only
    with pytest.raises(StorageUnavailable, match="database is read-only"):
        await a.enqueue(_specs(1))
    with pytest.raises(StorageUnavailable, match="database is read-only"):
        await a.claim(["default"], "w", 1, 1000)
    assert await a.get(job.id) == job
    assert (await a.stats())["default"].counts[JobState.QUEUED] == 1


def _terminate_backends(db_url: str, application: str = "leaseq") -> int:
    """Kills leaseq's server sessions on the test database (the pool's, or with
    ``leaseq-listen`` the LISTEN connection), as a database restart or a network cut
    would."""
    with psycopg.connect(base_url(), autocommit=True) as conn:
        return conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND datname = %s",
            (application, db_url.rsplit("/", 1)[-1]),
        ).rowcount


async def test_counts_stay_exact_while_nodes_write_and_compact_concurrently(
    nodes: list[PostgresStorage], db_url: str
) -> None:
    """The count ledger is folded (by stats and the reaper's calls) while other nodes
    append deltas: no delta may be lost or counted twice."""
    await nodes[0].enqueue(_specs(600))
    done = asyncio.Event()

    async def worker(storage: PostgresStorage, owner: str) -> None:
        while jobs := await storage.claim(["default"], owner, 5, 60_000):
            await storage.modify([Ack(j.id, j.lease_token or "") for j in jobs])

    async def workers() -> None:
        await asyncio.gather(*(worker(nodes[i % 2], f"w{i}") for i in range(6)))
        done.set()

    async def compactor(storage: PostgresStorage) -> None:
        while not done.is_set():
            await storage.stats()
            await storage.purge(3_600_000, 100)  # purges nothing, compacts

    await asyncio.gather(workers(), compactor(nodes[0]), compactor(nodes[1]))
    counts = (await nodes[1].stats())["default"].counts  # compacts once more, alone
    with psycopg.connect(db_url) as conn:
        actual = dict(conn.execute("SELECT state, count(*) FROM jobs GROUP BY state").fetchall())
        (ledger_rows,) = conn.execute("SELECT count(*) FROM job_counts").fetchone() or (0,)
    assert {s.value: n for s, n in counts.items() if n} == actual == {"DONE": 600}
    assert ledger_rows <= len(JobState)  # folded back to one row per state


async def test_history_of_a_purged_job_goes_with_it(nodes: list[PostgresStorage]) -> None:
    ((job, _),) = await nodes[0].enqueue(_specs(1))
    (leased,) = await nodes[1].claim(["default"], "w", 1, 60_000)
    await nodes[0].modify([Ack(job.id, leased.lease_token or "")])
    assert len((await nodes[1].events(job.id, 100, None)).events) == 3
    await asyncio.sleep(0.05)
    assert await nodes[0].purge(1, 10) == 1
    assert (await nodes[1].events(job.id, 100, None)).events == []
    assert await nodes[1].workers(60_000, 10) == []  # not seen within the 1 ms window
