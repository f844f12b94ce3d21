"""The views' tables (named once, never renamed) and their tracking rows, live or scratch."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from infrastructure.persistence import SCHEMA_LOCK
from projections.database import Database

log = logging.getLogger("regflow.views")
LIVE_PREFIX = "regflow_"
JOBS, BATCHES, TIMELINE = "job_progress", "batch_summaries", "job_timeline"
VIEW_NAMES = (JOBS, BATCHES, TIMELINE)
FOLD_VERSION = "fold_version"  # the tracking column: the version of the fold that built the rows


class Table:
    """A table of one set of views, named once: the set's prefix, then the table's name."""

    def __init__(self, name: str) -> None:
        self.name = name

    def __get__(self, schema: Schema, owner: type[Schema]) -> str:
        return schema.prefix + self.name


@dataclass(frozen=True)
class Schema:
    """The table names of one set of views: the live ones, or a scratch copy for rebuilds."""

    prefix: str = LIVE_PREFIX
    jobs = Table(JOBS)
    batches = Table(BATCHES)
    timeline = Table(TIMELINE)
    tracking = Table("view_tracking")

    @classmethod
    def scratch(cls) -> Schema:
        return cls(f"regflow_s{uuid.uuid4().hex[:8]}_")

    @property
    def view_tables(self) -> dict[str, str]:
        """Each view's table, by view name."""
        return {name: self.prefix + name for name in VIEW_NAMES}

    def tables(self) -> list[str]:
        """The tables; the timeline's key is an index of its own, built after a bulk fill."""
        return [
            f"CREATE TABLE IF NOT EXISTS {self.tracking} ("
            " view_name TEXT PRIMARY KEY, notification_id BIGINT NOT NULL,"
            f" {FOLD_VERSION} INTEGER)",
            f"CREATE TABLE IF NOT EXISTS {self.jobs} ("
            " job_id TEXT PRIMARY KEY, batch_id TEXT NOT NULL, organisation_id TEXT NOT NULL,"
            " name TEXT, external_id TEXT, restaurant TEXT NOT NULL, status TEXT NOT NULL,"
            " current_phase TEXT, counts TEXT NOT NULL, last_error TEXT,"
            " version INTEGER NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
            " progress TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.batches} ("
            " batch_id TEXT PRIMARY KEY, organisation_id TEXT NOT NULL, name TEXT NOT NULL,"
            " created_by TEXT NOT NULL, created_at TEXT NOT NULL, total INTEGER NOT NULL,"
            " started INTEGER NOT NULL, version INTEGER NOT NULL, updated_at TEXT NOT NULL)",
            f"CREATE TABLE IF NOT EXISTS {self.timeline} ("
            " job_id TEXT NOT NULL, version INTEGER NOT NULL, type TEXT NOT NULL,"
            " at TEXT NOT NULL, actor TEXT NOT NULL, reason TEXT, description TEXT NOT NULL,"
            " data TEXT NOT NULL)",
        ]

    def indexes(self) -> list[str]:
        """The indexes, named after this schema's prefix."""
        p = self.prefix
        return [
            f"CREATE INDEX IF NOT EXISTS {p}job_progress_batch ON {self.jobs} (batch_id, status)",
            f"CREATE INDEX IF NOT EXISTS {p}job_progress_status ON {self.jobs} (status)",
            f"CREATE INDEX IF NOT EXISTS {p}batch_summaries_org"
            f" ON {self.batches} (organisation_id, created_at)",
            f"CREATE UNIQUE INDEX IF NOT EXISTS {p}job_timeline_key"
            f" ON {self.timeline} (job_id, version)",
        ]

    def create(
        self, db: Database, indexed: bool = True, versions: Mapping[str, int] | None = None
    ) -> None:
        """Create the tables (and their indexes unless they are to be filled in bulk first),
        and a tracking row per view at position 0, if missing: its rows (none yet) those of
        the fold `versions` names (unknown when it names none)."""
        versions = versions or {}
        conn = db.connect()
        try:
            made = self._exists(conn, db)
            if not made or self._outdated(conn, db) or self._unversioned(conn, db):
                with db.transaction(conn) as cur:
                    if db.is_postgres:
                        cur.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
                    if self._unversioned(cur, db):
                        cur.execute(f"ALTER TABLE {self.tracking} ADD {FOLD_VERSION} INTEGER")
                    if self._outdated(cur, db):
                        self._start_again(cur, db, versions)
                    for statement in self.tables() + (self.indexes() if indexed else []):
                        cur.execute(statement)
            with db.transaction(conn) as cur:
                for name in VIEW_NAMES:
                    cur.execute(
                        db.sql(
                            f"INSERT INTO {self.tracking} (view_name, notification_id,"
                            f" {FOLD_VERSION}) VALUES (?, 0, ?) ON CONFLICT (view_name) DO NOTHING"
                        ),
                        (name, versions.get(name)),
                    )
        finally:
            conn.close()

    def _exists(self, conn: Any, db: Database) -> bool:
        """True when every table is there already (so no DDL lock is taken at all)."""
        tables = (*self.view_tables.values(), self.tracking)
        if db.is_postgres:
            query = "SELECT to_regclass(%s) IS NOT NULL AS found"
        else:
            query = "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE name = ?) AS found"
        return all(bool(conn.execute(query, (t,)).fetchone()["found"]) for t in tables)

    def _unversioned(self, conn: Any, db: Database) -> bool:
        """True when the tracking table is there without the fold versions (made by a release
        before they were kept): the column is added, its rows' versions unknown."""
        found = self._found(conn, db, self.tracking)
        return bool(found) and FOLD_VERSION not in found

    def _outdated(self, conn: Any, db: Database) -> list[str]:
        """The view tables of views with a tracking row that lack a column this release writes
        (made by an older one) or are missing: their rows cannot be trusted to be there."""
        if not self._found(conn, db, self.tracking):
            return []  # nothing was made yet
        wanted = dict(zip(self.view_tables.values(), self._columns(), strict=True))
        return [t for t, columns in wanted.items() if not columns <= self._found(conn, db, t)]

    def _columns(self) -> list[set[str]]:
        """The columns of each view table, in `view_tables` order, as `tables` creates them."""
        made = {s.split()[5]: s for s in self.tables()}  # CREATE TABLE IF NOT EXISTS <name> (
        return [
            {part.split()[0] for part in made[t].split("(", 1)[1].rstrip(")").split(",")}
            for t in self.view_tables.values()
        ]

    @staticmethod
    def _found(conn: Any, db: Database, table: str) -> set[str]:
        """The columns `table` has (none when it does not exist)."""
        if db.is_postgres:
            rows = conn.execute(
                "SELECT column_name AS name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND table_name = %s",
                (table,),
            ).fetchall()
        else:
            rows = conn.execute(f'PRAGMA table_info("{table}")').fetchall()
        return {str(r["name"]) for r in rows}

    def _start_again(self, cur: Any, db: Database, versions: Mapping[str, int]) -> None:
        """Views made by an older release: dropped, to be made again and filled from the log by
        the folds of `versions` (they hold nothing the log does not; a runner that held them
        finds its tracking moved)."""
        for table in self._outdated(cur, db):
            log.warning("view table %s is from an older release: it is rebuilt from the log", table)
        for table in self.view_tables.values():
            cur.execute(f"DROP TABLE IF EXISTS {table}")
        for name in VIEW_NAMES:
            cur.execute(
                db.sql(
                    f"UPDATE {self.tracking} SET notification_id = 0, {FOLD_VERSION} = ?"
                    " WHERE view_name = ?"
                ),
                (versions.get(name), name),
            )

    def drop(self, db: Database) -> None:
        """Drop every table of this schema (used for scratch copies)."""
        conn = db.connect()
        try:
            with db.transaction(conn) as cur:
                for table in (*self.view_tables.values(), self.tracking):
                    cur.execute(f"DROP TABLE IF EXISTS {table}")
        finally:
            conn.close()

    def positions(self, db: Database) -> dict[str, int]:
        """Where each view stands in the log."""
        rows = db.fetch(f"SELECT view_name, notification_id FROM {self.tracking}")
        found: dict[str, Any] = {r["view_name"]: r["notification_id"] for r in rows}
        return {name: int(found.get(name, 0)) for name in VIEW_NAMES}

    def fold_versions(self, db: Database) -> dict[str, int | None]:
        """The version of the fold each view's rows were built by (None: unknown)."""
        rows = db.fetch(f"SELECT view_name, {FOLD_VERSION} AS version FROM {self.tracking}")
        found = {str(r["view_name"]): r["version"] for r in rows}
        return {name: version_of(found.get(name)) for name in VIEW_NAMES}


def version_of(stored: Any) -> int | None:
    """A fold version as the tracking table holds it (None: unknown)."""
    return None if stored is None else int(stored)
