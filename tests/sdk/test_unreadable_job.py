"""Issue 14, defect 1: one job the client cannot read does not stop a real worker.

The API refuses such times now (``tests/api/test_hardening.py``), so the bad time is
written into the SQLite file by hand with the server stopped, as an older server or an
edited store could have left it: ``created_at`` in the year 10000, which the server writes
with five digits and the client's RFC 3339 decoder refuses.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

import httpx

import leaseq
from leaseq.core.model import JobState
from tests.sdk import sample_app
from tests.sdk.conftest import WorkerProcess, wait_until
from tests.support.server import ServerProcess

YEAR_10000_MS = round(datetime(9999, 12, 31, tzinfo=UTC).timestamp() * 1000) + 2 * 86_400_000


def test_worker_fails_the_unreadable_job_and_does_the_rest(
    client: leaseq.Client, server: ServerProcess, start_worker: type[WorkerProcess]
) -> None:
    specs = [sample_app.add.spec(sample_app.add.bind(i, 1)) for i in range(21)]
    jobs = client.enqueue_many(specs)
    bad, good = jobs[10], jobs[:10] + jobs[11:]
    server.kill()
    path = server.db_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as db:
        db.execute("UPDATE jobs SET created_at = ? WHERE id = ?", (YEAR_10000_MS, bad.id))
    db.close()
    server.start()
    worker = start_worker("--concurrency", "4")

    def settled() -> bool:
        counts = client.stats()["default"]
        return counts.DONE == 20 and counts.DEAD == 1

    wait_until(settled, timeout=60)
    assert all(client.get_job(j.id).state is JobState.DONE for j in good)
    # Read raw: the SDK cannot decode this job, which is the point.
    dead = httpx.get(f"{server.url}/dead").json()["jobs"]
    assert [j["id"] for j in dead] == [bad.id]
    assert dead[0]["created_at"].startswith("10000-")
    assert "could not read this job" in dead[0]["last_error"], dead[0]
    assert worker.proc.poll() is None, worker.log()
    assert worker.terminate() == 0
