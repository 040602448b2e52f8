"""What the dashboard asks of a server holding a million jobs, and how long it takes.

Creates the schema with a real ``leaseq serve``, stops it, bulk-loads jobs straight into
the SQLite file (the API would take minutes to enqueue this many), starts the server
again and times every request the dashboard's pages make. One JSON line per request.

    python benchmarks/dashboard_1m.py [--jobs 1000000] [--dead 100000]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.server import ServerProcess

QUEUES = ["emails", "reports", "thumbnails"]
ERRORS = ["SMTP timeout", "connection refused", "KeyError: 'user'", None, "lease expired"]
COLUMNS = (
    "id, queue, task, payload, state, priority, attempts, max_tries, run_at,"
    " last_error, created_at, updated_at"
)


def rows(jobs: int, dead: int, now: int):  # type: ignore[no-untyped-def]
    for i in range(jobs):
        queue = QUEUES[i % len(QUEUES)]
        if i < dead:
            state, error, attempts = "DEAD", ERRORS[i % len(ERRORS)], 5
        elif i % 10 == 0:
            state, error, attempts = "QUEUED", None, 0
        else:
            state, error, attempts = "DONE", None, 1
        at = now - (jobs - i)
        payload = json.dumps({"n": i, "to": f"user{i}@example.com"})
        yield (str(uuid.uuid4()), queue, "t", payload, state, 0, attempts, 5, at, error, at, at)


def load(db: Path, jobs: int, dead: int) -> None:
    conn = sqlite3.connect(db)
    conn.execute("PRAGMA synchronous = OFF")  # a scratch file: speed over safety
    now = int(time.time() * 1000)
    with conn:
        conn.executemany(f"INSERT INTO jobs ({COLUMNS}) VALUES ({','.join('?' * 12)})",
                         rows(jobs, dead, now))  # fmt: skip
    conn.close()


def timed(client: httpx.Client, path: str, repeat: int = 5) -> dict[str, object]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        r = client.get(path)
        times.append((time.perf_counter() - start) * 1000)
        assert r.status_code == 200, r.text
    return {"get": path, "median_ms": round(statistics.median(times), 1),
            "max_ms": round(max(times), 1), "bytes": len(r.content)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--jobs", type=int, default=1_000_000)
    parser.add_argument("--dead", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "leaseq.db"
        server = ServerProcess(f"sqlite:///{db}", Path(tmp) / "server.log")
        server.start()
        server.terminate()
        start = time.perf_counter()
        load(db, args.jobs, args.dead)
        print(json.dumps({"loaded": args.jobs, "seconds": round(time.perf_counter() - start, 1)}))
        server.start()
        try:
            with httpx.Client(base_url=server.url, timeout=60) as c:
                some = c.get("/jobs?limit=1").json()["jobs"][0]["id"]
                page = c.get("/dead?queue=emails&limit=100").json()["next_cursor"]
                more = [f"/dead?queue=emails&limit=100&cursor={page}"] if page else []
                for path in [
                    "/", "/stats", "/dead?queue=emails&limit=100", *more,
                    "/dead/groups?queue=emails",
                    "/jobs?queue=reports&state=DONE&limit=100", f"/jobs/{some}",
                    f"/jobs/{some}/events", "/workers",
                ]:  # fmt: skip
                    print(json.dumps(timed(c, path)))
        finally:
            server.kill()


if __name__ == "__main__":
    main()
