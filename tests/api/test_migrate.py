"""``leaseq migrate`` applies the schema once and is safe to repeat."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path


def _migrate(db: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "leaseq", "migrate", "--db", db],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_migrate_creates_the_schema_and_repeats_harmlessly(tmp_path: Path) -> None:
    path = tmp_path / "m.db"
    for _ in range(2):
        done = _migrate(f"sqlite:///{path}")
        assert done.returncode == 0, done.stderr
        assert "up to date" in done.stdout
    with sqlite3.connect(path) as conn:
        versions = [v for (v,) in conn.execute("SELECT version FROM schema_migrations")]
        tables = {n for (n,) in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert versions == sorted(set(versions)) and len(versions) >= 3
    assert {"jobs", "job_events", "workers"} <= tables


def test_migrate_reports_an_unreachable_database(tmp_path: Path) -> None:
    done = _migrate("postgresql://postgres@127.0.0.1:1/none")
    assert done.returncode == 4 and "leaseq migrate:" in done.stderr
