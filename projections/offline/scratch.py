"""Scratch copies of the views for rebuilds and checks: each is held by a lock while its
builder lives, so copies left by a builder that was killed can be told apart and dropped."""

from __future__ import annotations

import contextlib
import fcntl
import logging
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from infrastructure.settings import Settings
from projections.database import Database
from projections.schema import Schema

log = logging.getLogger("regflow.projections")
SCRATCH_LOCK_CLASS = 0x5E71  # advisory-lock namespace of scratch copies
SCRATCH_TABLE = re.compile(r"^(regflow_s[0-9a-f]{8}_)")


class _Hold:
    """A lock on one scratch copy: advisory on PostgreSQL, a locked file beside SQLite's."""

    def __init__(self, settings: Settings, db: Database, prefix: str) -> None:
        self.db, self.prefix = db, prefix
        self.conn: Any = None
        self.file: Any = None
        self.held = False
        self.path: Path | None = None
        if not db.is_postgres and not settings.is_in_memory:
            self.path = Path(f"{Path(settings.sqlite_path).resolve()}.{prefix}lock")

    def take(self) -> bool:
        """Take the lock if nobody holds it."""
        if self.db.is_postgres:
            self.conn = self.db.connect()
            key = int(self.prefix[9:17], 16) - 2**31
            row = self.conn.execute(
                "SELECT pg_try_advisory_lock(%s, %s) AS ok", (SCRATCH_LOCK_CLASS, key)
            ).fetchone()
            self.held = bool(row["ok"])
        elif self.path is None:
            self.held = True  # an in-memory database dies with its only process
        else:
            self.file = self.path.open("a")
            with contextlib.suppress(BlockingIOError):
                fcntl.flock(self.file, fcntl.LOCK_EX | fcntl.LOCK_NB)
                self.held = True
        return self.held

    def release(self) -> None:
        """Give the lock back (and remove the file that carried it)."""
        if self.conn is not None:
            with contextlib.suppress(Exception):
                self.conn.close()
        if self.file is not None:
            if self.held and self.path is not None:
                self.path.unlink(missing_ok=True)
            self.file.close()


def _prefixes(db: Database) -> set[str]:
    """The prefixes of every scratch copy in the database."""
    if db.is_postgres:
        rows = db.fetch(
            "SELECT tablename AS name FROM pg_tables WHERE tablename LIKE ?", ("regflow_s%",)
        )
    else:
        rows = db.fetch("SELECT name FROM sqlite_master WHERE type = 'table'")
    return {m.group(1) for r in rows if (m := SCRATCH_TABLE.match(r["name"]))}


def sweep(settings: Settings, db: Database) -> list[str]:
    """Drop the scratch copies nobody holds (their builder was killed); returns their prefixes."""
    dropped = []
    for prefix in sorted(_prefixes(db)):
        hold = _Hold(settings, db, prefix)
        try:
            if hold.take():
                Schema(prefix).drop(db)
                dropped.append(prefix)
                log.info("dropped the scratch views %s* left by a stopped rebuild", prefix)
        finally:
            hold.release()
    return dropped


@contextlib.contextmanager
def scratch_views(settings: Settings, db: Database) -> Iterator[Schema]:
    """A fresh, unindexed scratch copy of the views, held while in use and dropped afterwards;
    copies left by killed builders are dropped first."""
    schema = Schema.scratch()
    hold = _Hold(settings, db, schema.prefix)
    try:
        hold.take()
        sweep(settings, db)
        schema.create(db, indexed=False)
        try:
            yield schema
        finally:
            schema.drop(db)
    finally:
        hold.release()
