"""How the SQLite store names a refused write: the cause decides the error a client sees
(all of them ``StorageUnavailable``, so every client retries)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from leaseq.errors import StorageFull, StorageReadOnly, StorageUnavailable
from leaseq.server.http.errors import status_of
from leaseq.server.storage.sqlite.thread import storage_error


def _error_of(conn: sqlite3.Connection, sql: str) -> sqlite3.Error:
    with pytest.raises(sqlite3.Error) as caught:
        conn.execute(sql)
    return caught.value


def test_a_database_opened_read_only_is_storage_read_only(tmp_path: Path) -> None:
    db = tmp_path / "x.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.close()
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    exc = _error_of(conn, "INSERT INTO t VALUES (1)")
    error = storage_error(exc, str(db))
    assert isinstance(error, StorageReadOnly) and status_of(error) == 503
    assert error.code == "storage_read_only" and "read-only" in error.message


def test_an_io_error_on_a_writable_directory_stays_storage_unavailable(tmp_path: Path) -> None:
    exc = sqlite3.OperationalError("disk I/O error")
    exc.sqlite_errorcode = sqlite3.SQLITE_IOERR_WRITE  # type: ignore[attr-defined]
    error = storage_error(exc, str(tmp_path / "x.db"))
    assert type(error) is StorageUnavailable and status_of(error) == 503


def test_a_full_disk_is_storage_full(tmp_path: Path) -> None:
    exc = sqlite3.OperationalError("database or disk is full")
    exc.sqlite_errorcode = sqlite3.SQLITE_FULL  # type: ignore[attr-defined]
    assert isinstance(storage_error(exc, str(tmp_path / "x.db")), StorageFull)
