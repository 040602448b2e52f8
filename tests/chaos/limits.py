"""Watching a limited queue from outside: the LEASED counts sampled while a run goes on,
and the same counts replayed from the job history afterwards.

A sample is one SQL statement, so one snapshot: the queue's LEASED jobs and the busiest
key's, at one instant of the database. The replay walks the events in ``seq`` order: a
claim of a limited queue writes its events while it holds the queue's lock, so leases
appear in the order they happened; an event that ends a lease may get its ``seq`` a little
before its transaction commits, so the replay can only under-count, and a replayed count
over the limit is a real one. PostgreSQL only (the runs with several nodes).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import psycopg

SAMPLE = """
SELECT (SELECT count(*) FROM jobs WHERE queue = %(q)s AND state = 'LEASED') AS leased,
       (SELECT coalesce(max(n), 0) FROM (
            SELECT count(*) AS n FROM jobs
            WHERE queue = %(q)s AND state = 'LEASED' AND concurrency_key IS NOT NULL
            GROUP BY concurrency_key) AS k) AS per_key
"""

EVENTS = """
SELECT e.job_id, e.kind, e.state, j.concurrency_key FROM job_events AS e
JOIN jobs AS j ON j.id = e.job_id WHERE j.queue = %(q)s ORDER BY e.seq
"""


@dataclass
class Peaks:
    samples: int = 0
    max_leased: int = 0
    max_per_key: int = 0
    over: int = 0
    """Samples (or replayed events) at which a limit was passed."""

    def see(self, leased: int, per_key: int, limit: int, key_limit: int) -> None:
        self.samples += 1
        self.max_leased = max(self.max_leased, leased)
        self.max_per_key = max(self.max_per_key, per_key)
        self.over += leased > limit or per_key > key_limit


@dataclass
class Sampler:
    """Samples the LEASED counts of ``queue`` on a thread of its own, every ``every_s``,
    until ``stop`` (bounded by ``max_s`` too)."""

    url: str
    queue: str
    limit: int
    key_limit: int
    every_s: float = 0.002
    max_s: float = 1200.0
    peaks: Peaks = field(default_factory=Peaks)
    errors: int = 0

    def __post_init__(self) -> None:
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._main, name="leased-sampler", daemon=True)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def _main(self) -> None:
        deadline = time.monotonic() + self.max_s
        conn: psycopg.Connection[tuple[int, int]] | None = None
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                if conn is None:
                    conn = psycopg.connect(self.url, autocommit=True, connect_timeout=3)
                row = conn.execute(SAMPLE, {"q": self.queue}).fetchone()
                assert row is not None
                self.peaks.see(row[0], row[1], self.limit, self.key_limit)
            except psycopg.Error:
                self.errors += 1  # the database is being restarted: sample again after
                conn = None
                time.sleep(0.1)
            self._stop.wait(self.every_s)
        if conn is not None:
            conn.close()


def replay(url: str, queue: str, limit: int, key_limit: int) -> Peaks:
    """The LEASED counts of ``queue`` after every event of its history."""
    peaks = Peaks()
    leased: set[str] = set()
    per_key: Counter[str] = Counter()
    with psycopg.connect(url) as conn:
        for job_id, kind, state, key in conn.execute(EVENTS, {"q": queue}):
            if kind == "leased":
                leased.add(job_id)
                per_key[key] += key is not None
            elif state != "LEASED" and job_id in leased:
                leased.discard(job_id)
                per_key[key] -= key is not None
            else:
                continue
            peaks.see(len(leased), max(per_key.values(), default=0), limit, key_limit)
    return peaks
