"""Connections for the views: the same SQL on SQLite and PostgreSQL, one dialect switch."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool

from infrastructure.dropped_connections import RECONNECT_SECONDS, again_on_live_connection
from infrastructure.settings import Settings
from infrastructure.sql_params import ParamStyle, param_style

T = TypeVar("T")
CONNECTION_NAME = "regflow-projections"
LOCK_CLASS = 0x5E6F  # advisory-lock namespace of the views
FEW_ROWS = 16  # rows inserted by INSERT rather than COPY (see `insert_rows`)
_SQLITE_HELD: set[tuple[str, str]] = set()
_SQLITE_GUARD = threading.Lock()


def read_connections(settings: Settings) -> int:
    """Read connections of a process: one for every two API threads (`api.services.pool_size`),
    as a thread waiting for the views to apply an edit holds none."""
    return max(4, settings.postgres_pool_size * 2)


class Database:
    """Where the views live: the event store's own database, reached by our own connections."""

    def __init__(self, settings: Settings) -> None:
        self.is_postgres = settings.is_postgres
        self.params: ParamStyle = param_style(settings.is_postgres)
        self._settings = settings
        self._pool: ConnectionPool[Any] | None = None
        self._pool_guard = threading.Lock()

    @property
    def settings(self) -> Settings:
        return self._settings

    def sql(self, text: str) -> str:
        """`text`, its parameters written `?`, in the driver's own style (run with parameters)."""
        return self.params.sql(text)

    def connect(self) -> Any:
        """A dedicated connection in autocommit mode (a runner holds one for its lifetime)."""
        # Its commits need not wait for the disk: a view row and its tracking are lost or
        # kept together, and lost ones are applied again from the log.
        if self.is_postgres:
            conn = psycopg.connect(
                self._settings.postgres_conninfo(),
                autocommit=True,
                row_factory=dict_row,
                application_name=CONNECTION_NAME,
                connect_timeout=5,
            )
            conn.execute("SET synchronous_commit = off")
            return conn
        path = self._settings.sqlite_path
        memory = self._settings.is_in_memory
        lite = sqlite3.connect(
            "file::memory:?cache=shared" if memory else path,
            uri=memory,
            isolation_level=None,
            check_same_thread=False,
            timeout=10,
        )
        lite.row_factory = sqlite3.Row
        lite.execute("PRAGMA synchronous = NORMAL")
        return lite

    @contextmanager
    def transaction(self, conn: Any) -> Iterator[Any]:
        """A cursor inside one transaction: committed on success, rolled back on error."""
        if self.is_postgres:
            with conn.transaction(), conn.cursor() as cur:
                yield cur
            return
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        try:
            yield cur
        except BaseException:
            conn.rollback()
            raise
        else:
            conn.commit()
        finally:
            cur.close()

    @contextmanager
    def reading(self) -> Iterator[Any]:
        """A cursor for queries (a pooled connection on PostgreSQL, a fresh one on SQLite)."""
        if not self.is_postgres:
            conn = self.connect()
            try:
                yield conn.cursor()
            finally:
                conn.close()
            return
        with self._read_pool().connection() as conn, conn.cursor() as cur:
            yield cur

    def _read_pool(self) -> ConnectionPool[Any]:
        with self._pool_guard:
            if self._pool is None:
                self._pool = ConnectionPool(
                    self._settings.postgres_conninfo(),
                    kwargs={
                        "autocommit": True,
                        "row_factory": dict_row,
                        "application_name": CONNECTION_NAME,
                    },
                    min_size=1,
                    max_size=read_connections(self._settings),
                    open=False,
                    timeout=3,
                    reconnect_timeout=RECONNECT_SECONDS,
                )
                self._pool.open(wait=False)
            return self._pool

    def fetch(self, query: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        """Rows of a query, as dicts; asked again on a connection the server dropped."""
        return self.again_if_dropped(lambda: self._fetch(query, params))

    def again_if_dropped(self, read: Callable[[], T]) -> T:
        """`read` (reads only: it may run twice), run again from its start when the pooled
        connection it ran on had been dropped by the server (`again_on_live_connection`).

        Pooled connections are not pinged before use (a round trip per read): a dropped one
        fails at once, and the pool's idle connections are checked before the second run.
        """
        if not self.is_postgres:
            return read()
        return again_on_live_connection(read, self._read_pool())

    def _fetch(self, query: str, params: Sequence[Any]) -> list[dict[str, Any]]:
        with self.reading() as cur:
            cur.execute(self.sql(query), tuple(params))
            return [dict(row) for row in cur.fetchall()]

    def insert_rows(
        self, cur: Any, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]
    ) -> None:
        """Insert many rows in the caller's transaction (COPY on PostgreSQL for more than a
        few: a COPY takes two round trips where a pipelined INSERT of a few rows takes one)."""
        if self.is_postgres and len(rows) > FEW_ROWS:
            with cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return
        marks = ", ".join("?" for _ in columns)
        insert = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})"
        cur.executemany(self.sql(insert), rows)

    def try_lock(self, conn: Any, name: str) -> bool:
        """Take the one-runner-per-view lock (advisory on PostgreSQL, in-process on SQLite)."""
        if self.is_postgres:
            row = conn.execute(
                "SELECT pg_try_advisory_lock(%s, hashtext(%s)) AS ok", (LOCK_CLASS, name)
            ).fetchone()
            return bool(row["ok"])
        with _SQLITE_GUARD:
            if (self._settings.data_location, name) in _SQLITE_HELD:
                return False
            _SQLITE_HELD.add((self._settings.data_location, name))
            return True

    def release(self, conn: Any, name: str) -> None:
        """Give the lock back (closing the connection also does, on PostgreSQL)."""
        if self.is_postgres:
            conn.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", (LOCK_CLASS, name))
            return
        with _SQLITE_GUARD:
            _SQLITE_HELD.discard((self._settings.data_location, name))

    def close(self) -> None:
        with self._pool_guard:
            if self._pool is not None:
                self._pool.close()
                self._pool = None
