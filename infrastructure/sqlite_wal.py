"""A SQLite file's write-ahead log emptied, so pages written before an erasure leave the disk.

In WAL mode every committed page goes to `<file>-wal` first and is copied into the file at a
checkpoint; the log's old frames stay in it, byte for byte, until a checkpoint truncates it
(a clean stop removes it, a crash leaves it). A checkpoint cannot finish while a reader in
another process still reads from frames it would drop: it is tried again for a while."""

from __future__ import annotations

import sqlite3
import time
from contextlib import closing
from pathlib import Path

CHECKPOINT_SECONDS = 5.0  # how long readers of other processes may keep a truncation waiting
BUSY_TIMEOUT_MS = 500  # each attempt waits for readers this long with SQLite's busy handler


def wal_path(database: str) -> Path:
    """The write-ahead log beside the SQLite file `database`."""
    path = Path(database)
    return path.with_name(path.name + "-wal")


def truncate_wal(database: str, seconds: float = CHECKPOINT_SECONDS) -> bool:
    """Copy the file's write-ahead log into it and truncate the log to nothing, trying again
    for `seconds` while readers of other connections hold it; whether it was truncated (the
    caller says so when not)."""
    deadline = time.monotonic() + seconds
    with closing(sqlite3.connect(database, timeout=BUSY_TIMEOUT_MS / 1000)) as conn:
        conn.isolation_level = None
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        while True:
            busy = _checkpoint(conn)
            if not busy or time.monotonic() >= deadline:
                break
    return not busy


def _checkpoint(conn: sqlite3.Connection) -> bool:
    """One `wal_checkpoint(TRUNCATE)`: whether it was kept from finishing."""
    try:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
    except sqlite3.OperationalError as exc:  # locked: another connection is checkpointing
        if "locked" not in str(exc):
            raise
        return True
    return bool(busy)
