"""Reading one job's lease from the lease table beside the events, for whoever must judge
whether the worker that started the job's calls still holds it: an operator's edit of a job
that is not running (the use-case layer). The engine claims, renews and releases the leases
(`infrastructure.engine.leases`); nothing here writes.

On PostgreSQL a lease is timed by the database's clock, as claims are; on SQLite by the
clock of the process that took it (the wall clock, but in a simulation). A reader with a
clock of its own (tests moving time past a lease) judges by that clock instead.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Protocol

from eventsourcing import postgres as es_pg
from eventsourcing import sqlite as es_sqlite
from eventsourcing.persistence import ProgrammingError
from psycopg.errors import UndefinedTable

from domain.job_lease import NO_LEASE, LeaseSeen

TABLE = "regflow_job_leases"
SQLITE_LEASE = f"SELECT worker_id, expires_at FROM {TABLE} WHERE job_id = ?"
_POSTGRES_LEASE = f"SELECT worker_id, expires_at, now() AS seen_at FROM {TABLE} WHERE job_id = %s"
_SQLITE_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"
Clock = Callable[[], datetime]


class LeaseView(Protocol):
    """A job's lease as the lease table shows it now; None: no table can say (every call in
    flight then counts as live)."""

    def lease_of(self, job_id: str) -> LeaseSeen | None: ...


def wall_clock() -> datetime:
    """The clock an SQLite lease is timed by outside a simulation (the engine's wall time)."""
    return datetime.now(UTC)


def sqlite_lease(row: Any, seen_at: datetime) -> LeaseSeen:
    """The lease an SQLite row (worker_id, expires_at in epoch seconds) holds, seen at
    `seen_at`; no row: nobody holds the job."""
    if row is None:
        return NO_LEASE
    return LeaseSeen(row[0], datetime.fromtimestamp(row[1], UTC), seen_at)


class StoreLeases:
    """The lease table read on the store's own connections (no pool of its own)."""

    def __init__(self, recorder: Any, clock: Clock | None = None) -> None:
        self.recorder = recorder
        self.clock = clock

    def lease_of(self, job_id: str) -> LeaseSeen | None:
        if isinstance(self.recorder, es_pg.PostgresAggregateRecorder):
            return self._postgres(job_id)
        if isinstance(self.recorder, es_sqlite.SQLiteAggregateRecorder):
            return self._sqlite(job_id)
        return None  # a store with no lease table beside it

    def _postgres(self, job_id: str) -> LeaseSeen:
        try:
            with self.recorder.datastore.transaction(commit=False) as cursor:
                cursor.execute(_POSTGRES_LEASE, (job_id,))
                row = cursor.fetchone()
        except ProgrammingError as exc:
            if isinstance(exc.__cause__, UndefinedTable):
                return NO_LEASE  # no worker has ever run here
            raise
        if row is None:
            return NO_LEASE
        seen_at = self.clock() if self.clock is not None else row["seen_at"]
        return LeaseSeen(row["worker_id"], row["expires_at"], seen_at)

    def _sqlite(self, job_id: str) -> LeaseSeen:
        with self.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(_SQLITE_TABLE, (TABLE,))
            if cursor.fetchone() is None:
                return NO_LEASE  # no worker has ever run here
            cursor.execute(SQLITE_LEASE, (job_id,))
            row = cursor.fetchone()
        return sqlite_lease(row, (self.clock or wall_clock)())
