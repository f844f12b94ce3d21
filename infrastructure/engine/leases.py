"""Job leases: one worker runs a job at a time; a lease that is not renewed expires.

A lease names its worker id and the incarnation (one hold of that id by a live process) that
took it. A worker takes back a lease of its own id at once, whatever the incarnation, when the
process that took it is gone; renewing and releasing need the incarnation too, so a process
whose leases a later incarnation took stops at once.

On PostgreSQL a lease also names its holder: the session name of the leases' connections of
the process that took it, one kept open while the process lives. A process holding the id
proves the other incarnation gone only if its session is: a process whose lock session alone
was cut is alive, and runs its jobs until it sees the id lost (within a third of a lease), so
its leases are left to expire then, not taken back while its calls are in flight.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterable
from typing import Any, Protocol

from psycopg_pool import ConnectionPool

from domain.job_lease import LeaseSeen
from infrastructure.dropped_connections import RECONNECT_SECONDS
from infrastructure.engine.clock import SYSTEM_CLOCK, Clock
from infrastructure.lease_reads import SQLITE_LEASE, TABLE, sqlite_lease
from infrastructure.persistence import schema_lock
from infrastructure.settings import Settings

__all__ = ["TABLE", "Leases", "PostgresLeases", "SqliteLeases", "open_leases"]


class Leases(Protocol):
    """Claim, renew and release job leases for one worker identity and incarnation."""

    incarnation: str

    def claim(self, job_id: str, worker_id: str, seconds: float) -> bool: ...

    def renew(self, job_ids: Iterable[str], worker_id: str, seconds: float) -> set[str]: ...

    def release(self, job_ids: Iterable[str], worker_id: str) -> None: ...

    def release_held(self, worker_id: str) -> None: ...

    def busy(self, job_ids: Iterable[str], worker_id: str) -> set[str]: ...

    def abandoned(self, worker_id: str, limit: int) -> list[str]: ...

    def close(self) -> None: ...


_PG_SCHEMA = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    job_id text PRIMARY KEY, worker_id text NOT NULL, expires_at timestamptz NOT NULL)"""
_PG_INCARNATION = f"""ALTER TABLE {TABLE}
    ADD COLUMN IF NOT EXISTS incarnation text NOT NULL DEFAULT ''"""
_PG_HOLDER = f"""ALTER TABLE {TABLE} ADD COLUMN IF NOT EXISTS holder text NOT NULL DEFAULT ''"""
HOLDER_PREFIX = "regflow leases "
# Whether the process that took a lease is gone: no session bears its holder's name (a lease
# written before holders were, named by none, counts as gone, as every other incarnation did).
_HOLDER_GONE = f"""NOT EXISTS (SELECT 1 FROM pg_stat_activity a
    WHERE {TABLE}.holder <> '' AND a.application_name = '{HOLDER_PREFIX}' || {TABLE}.holder)"""
_PG_CLAIM = f"""INSERT INTO {TABLE} (job_id, worker_id, incarnation, expires_at, holder)
    VALUES (%s, %s, %s, now() + make_interval(secs => %s), %s)
    ON CONFLICT (job_id) DO UPDATE SET worker_id = EXCLUDED.worker_id,
        incarnation = EXCLUDED.incarnation, expires_at = EXCLUDED.expires_at,
        holder = EXCLUDED.holder
    WHERE {TABLE}.expires_at < now() OR ({TABLE}.worker_id = EXCLUDED.worker_id
        AND ({TABLE}.incarnation = EXCLUDED.incarnation OR {_HOLDER_GONE}))
    RETURNING job_id"""
_PG_RENEW = f"""UPDATE {TABLE} SET expires_at = now() + make_interval(secs => %s)
    WHERE worker_id = %s AND incarnation = %s AND job_id = ANY(%s) RETURNING job_id"""
_PG_RELEASE = f"""DELETE FROM {TABLE}
    WHERE worker_id = %s AND incarnation = %s AND job_id = ANY(%s)"""
_PG_RELEASE_HELD = f"DELETE FROM {TABLE} WHERE worker_id = %s AND incarnation = %s"
_PG_BUSY = f"""SELECT job_id FROM {TABLE}
    WHERE job_id = ANY(%s) AND worker_id <> %s AND expires_at >= now()"""
_PG_ABANDONED = f"""SELECT job_id FROM {TABLE}
    WHERE expires_at < now() OR (worker_id = %s AND incarnation <> %s AND {_HOLDER_GONE})
    ORDER BY expires_at LIMIT %s"""


class PostgresLeases:
    """Leases in a PostgreSQL table, timed by the database's clock."""

    def __init__(self, settings: Settings, incarnation: str) -> None:
        self.incarnation = incarnation
        self.holder = uuid.uuid4().hex  # this process's, for as long as its pool is open
        self._pool = ConnectionPool(
            settings.postgres_conninfo(),
            min_size=1,  # the holder's session, kept while the process lives
            max_size=2,
            kwargs={
                "autocommit": True,
                "connect_timeout": 5,
                "application_name": HOLDER_PREFIX + self.holder,
            },
            check=ConnectionPool.check_connection,
            # A lease call waits for a connection no longer than one takes to make: with the
            # database away, a stopping worker gave up on each lease only after 30 s.
            timeout=10.0,
            reconnect_timeout=RECONNECT_SECONDS,
            open=True,
        )
        with schema_lock(settings), self._pool.connection() as conn:
            conn.execute(_PG_SCHEMA)
            conn.execute(_PG_INCARNATION)
            conn.execute(_PG_HOLDER)

    def claim(self, job_id: str, worker_id: str, seconds: float) -> bool:
        """Take the lease if free, expired or already ours."""
        with self._pool.connection() as conn:
            asked = (job_id, worker_id, self.incarnation, seconds, self.holder)
            row = conn.execute(_PG_CLAIM, asked)
            return row.fetchone() is not None

    def renew(self, job_ids: Iterable[str], worker_id: str, seconds: float) -> set[str]:
        """Extend our leases; returns those we still hold."""
        with self._pool.connection() as conn:
            held = (seconds, worker_id, self.incarnation, list(job_ids))
            rows = conn.execute(_PG_RENEW, held).fetchall()
        return {row[0] for row in rows}

    def release(self, job_ids: Iterable[str], worker_id: str) -> None:
        """Give up our leases on these jobs."""
        with self._pool.connection() as conn:
            conn.execute(_PG_RELEASE, (worker_id, self.incarnation, list(job_ids)))

    def release_held(self, worker_id: str) -> None:
        """Give up every lease this incarnation holds (a worker stopping)."""
        with self._pool.connection() as conn:
            conn.execute(_PG_RELEASE_HELD, (worker_id, self.incarnation))

    def busy(self, job_ids: Iterable[str], worker_id: str) -> set[str]:
        """Which of these jobs another worker holds a live lease on."""
        with self._pool.connection() as conn:
            return {r[0] for r in conn.execute(_PG_BUSY, (list(job_ids), worker_id)).fetchall()}

    def abandoned(self, worker_id: str, limit: int) -> list[str]:
        """Jobs whose lease was left by a worker that died holding it (the oldest first)."""
        with self._pool.connection() as conn:
            found = conn.execute(_PG_ABANDONED, (worker_id, self.incarnation, limit))
            return [r[0] for r in found.fetchall()]

    def close(self) -> None:
        self._pool.close()


class SqliteLeases:
    """Leases in a table of the same SQLite file as the events, timed by the engine's clock."""

    def __init__(self, path: str, incarnation: str, clock: Clock = SYSTEM_CLOCK) -> None:
        self.incarnation = incarnation
        self._clock = clock
        self._conn = sqlite3.connect(
            path, timeout=30, check_same_thread=False, isolation_level=None
        )
        self._lock = threading.Lock()
        self._create_table()

    def _create_table(self) -> None:
        """Create the table, or add the incarnation to one made before it, holding the store's
        write lock: processes starting at once would otherwise each see the column missing."""
        with self._conn:  # committed, or rolled back when a statement fails
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.execute(
                f"CREATE TABLE IF NOT EXISTS {TABLE} (job_id TEXT PRIMARY KEY, "
                "worker_id TEXT NOT NULL, incarnation TEXT NOT NULL DEFAULT '', "
                "expires_at REAL NOT NULL)"
            )
            columns = {row[1] for row in self._conn.execute(f"PRAGMA table_info({TABLE})")}
            if "incarnation" not in columns:
                self._conn.execute(
                    f"ALTER TABLE {TABLE} ADD COLUMN incarnation TEXT NOT NULL DEFAULT ''"
                )

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def _run(self, sql: str, params: tuple[object, ...]) -> list[tuple[str]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def claim(self, job_id: str, worker_id: str, seconds: float) -> bool:
        """Take the lease if free, expired or already ours."""
        now = self._now()
        rows = self._run(
            f"""INSERT INTO {TABLE} (job_id, worker_id, incarnation, expires_at)
            VALUES (?, ?, ?, ?)
            ON CONFLICT (job_id) DO UPDATE SET worker_id = excluded.worker_id,
                incarnation = excluded.incarnation, expires_at = excluded.expires_at
            WHERE {TABLE}.expires_at < ? OR {TABLE}.worker_id = excluded.worker_id
            RETURNING job_id""",
            (job_id, worker_id, self.incarnation, now + seconds, now),
        )
        return bool(rows)

    def renew(self, job_ids: Iterable[str], worker_id: str, seconds: float) -> set[str]:
        """Extend our leases; returns those we still hold."""
        ids = list(job_ids)
        marks = ",".join("?" * len(ids))
        if not ids:
            return set()
        sql = (
            f"UPDATE {TABLE} SET expires_at = ? WHERE worker_id = ? AND incarnation = ?"
            f" AND job_id IN ({marks}) RETURNING job_id"
        )
        rows = self._run(sql, (self._now() + seconds, worker_id, self.incarnation, *ids))
        return {r[0] for r in rows}

    def release(self, job_ids: Iterable[str], worker_id: str) -> None:
        """Give up our leases on these jobs."""
        ids = list(job_ids)
        marks = ",".join("?" * len(ids))
        sql = f"DELETE FROM {TABLE} WHERE worker_id = ? AND incarnation = ? AND job_id IN ({marks})"
        self._run(sql, (worker_id, self.incarnation, *ids))

    def release_held(self, worker_id: str) -> None:
        """Give up every lease this incarnation holds (a worker stopping)."""
        sql = f"DELETE FROM {TABLE} WHERE worker_id = ? AND incarnation = ?"
        self._run(sql, (worker_id, self.incarnation))

    def busy(self, job_ids: Iterable[str], worker_id: str) -> set[str]:
        """Which of these jobs another worker holds a live lease on."""
        ids = list(job_ids)
        marks = ",".join("?" * len(ids))
        sql = (
            f"SELECT job_id FROM {TABLE} WHERE job_id IN ({marks})"
            " AND worker_id <> ? AND expires_at >= ?"
        )
        return {r[0] for r in self._run(sql, (*ids, worker_id, self._now()))}

    def abandoned(self, worker_id: str, limit: int) -> list[str]:
        """Jobs whose lease was left by a worker that died holding it (the oldest first)."""
        sql = (
            f"SELECT job_id FROM {TABLE} WHERE expires_at < ? OR (worker_id = ?"
            " AND incarnation <> ?) ORDER BY expires_at LIMIT ?"
        )
        return [r[0] for r in self._run(sql, (self._now(), worker_id, self.incarnation, limit))]

    def lease_of(self, job_id: str) -> LeaseSeen:
        """Who holds the job's lease and until when, as of this table's clock (a `LeaseView`
        for a store whose lease table is this one: the simulation's)."""
        rows: list[Any] = self._run(SQLITE_LEASE, (job_id,))
        return sqlite_lease(rows[0] if rows else None, self._clock.now())

    def close(self) -> None:
        self._conn.close()


def open_leases(
    settings: Settings, incarnation: str | None = None, clock: Clock = SYSTEM_CLOCK
) -> Leases:
    """The lease table beside the events (PostgreSQL or the SQLite file), for one incarnation."""
    incarnation = incarnation or uuid.uuid4().hex
    if settings.is_postgres:
        return PostgresLeases(settings, incarnation)
    path = ":memory:" if settings.is_in_memory else settings.sqlite_path
    return SqliteLeases(path, incarnation, clock)
