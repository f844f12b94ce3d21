"""The table of wrapped keys (`regflow_keys`), the same SQL on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import psycopg

from infrastructure.settings import Settings
from infrastructure.sql_params import ParamStyle, param_style

TABLE = "regflow_keys"
CREATE = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} ("
    " owner TEXT NOT NULL, generation INTEGER NOT NULL, wrapped TEXT,"
    " created_at TEXT NOT NULL, destroyed_at TEXT, destroyed_by TEXT,"
    " PRIMARY KEY (owner, generation))"
)
COLUMNS = "owner, generation, wrapped, created_at, destroyed_at, destroyed_by"


def events_table(is_postgres: bool) -> str:
    """The event store's table of events, on PostgreSQL or on SQLite."""
    return "registrations_events" if is_postgres else "stored_events"


@dataclass(frozen=True)
class KeyRow:
    """One wrapped key (or the salt, or a destroyed key whose material is gone)."""

    owner: str
    generation: int
    wrapped: str | None
    created_at: str
    destroyed_at: str | None = None
    destroyed_by: str | None = None


def now() -> str:
    return datetime.now(UTC).isoformat()


class KeyTable:
    """Reads and writes `regflow_keys` in the event store's own database."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.is_postgres = settings.is_postgres
        self.params: ParamStyle = param_style(settings.is_postgres)
        self._lock = threading.Lock()
        # one connection, kept: an in-memory store lives only while a connection is open,
        # and a key looked up again need not pay for a new connection
        self._conn: Any = self._connect() if settings.is_in_memory else None

    def _connect(self) -> Any:
        if self.is_postgres:
            return psycopg.connect(
                self.settings.postgres_conninfo(), autocommit=True, connect_timeout=5
            )
        memory = self.settings.is_in_memory
        path = "file::memory:?cache=shared" if memory else self.settings.sqlite_path
        return sqlite3.connect(
            path,
            uri=path.startswith("file:"),  # the library opens `file:` names as URIs too
            isolation_level=None,
            check_same_thread=False,
            timeout=10,
        )

    def sql(self, text: str) -> str:
        """`text`, its parameters written `?`, in the driver's own style (run with parameters)."""
        return self.params.sql(text)

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[Any]:
        """A cursor in one transaction: committed on success, rolled back on error.

        A write holds the table against every other writer until it ends, on PostgreSQL as
        on SQLite (where BEGIN IMMEDIATE does): what it reads stays what it writes over, so a
        rotation cannot miss a key made beside it, nor give material back to a key destroyed
        beside it, and a key is made under the passphrase the store's key is wrapped with at
        that moment. A read (`write=False`) takes no such hold, so it never waits for a
        writer, such as a read-model runner folding events in this process (SQLite).
        """
        with self._transaction(write, hold=write) as cur:
            yield cur

    @contextmanager
    def _transaction(self, write: bool, hold: bool) -> Iterator[Any]:
        with self._lock:
            if self._conn is not None and self.is_postgres and not self._alive(self._conn):
                self._close()  # ended by the server while idle (a restart, a failover)
            if self._conn is None:
                self._conn = self._connect()
            conn = self._conn
            try:
                if self.is_postgres:
                    with conn.transaction(), conn.cursor() as cur:
                        if hold:
                            cur.execute(f"LOCK TABLE {TABLE} IN SHARE ROW EXCLUSIVE MODE")
                        yield cur
                    return
                conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    yield conn.cursor()
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
            except (psycopg.OperationalError, sqlite3.OperationalError):
                self._close()  # the next transaction starts on a fresh connection
                raise

    @staticmethod
    def _alive(conn: Any) -> bool:
        """Whether the server still holds this idle connection: asked with one round trip,
        made only when a key is not in memory already."""
        try:
            conn.execute("SELECT 1")
        except psycopg.OperationalError:
            return False
        return True

    def _close(self) -> None:
        if self._conn is not None and not self.settings.is_in_memory:
            self._conn.close()
            self._conn = None

    def create(self) -> None:
        with self._transaction(write=True, hold=False) as cur:  # the table to hold may not be there
            cur.execute(CREATE)

    def rows(self, cur: Any, owner: str | None = None) -> list[KeyRow]:
        where, params = (" WHERE owner = ?", (owner,)) if owner is not None else ("", ())
        cur.execute(
            self.sql(f"SELECT {COLUMNS} FROM {TABLE}{where} ORDER BY owner, generation"), params
        )
        return [KeyRow(*row) for row in cur.fetchall()]

    def insert(self, cur: Any, owner: str, generation: int, wrapped: str) -> None:
        """Add a key unless another process added that generation first."""
        cur.execute(
            self.sql(
                f"INSERT INTO {TABLE} (owner, generation, wrapped, created_at)"
                " VALUES (?, ?, ?, ?) ON CONFLICT (owner, generation) DO NOTHING"
            ),
            (owner, generation, wrapped, now()),
        )

    def rewrap(self, cur: Any, rows: Sequence[KeyRow]) -> None:
        for row in rows:
            cur.execute(
                self.sql(
                    f"UPDATE {TABLE} SET wrapped = ?"
                    " WHERE owner = ? AND generation = ? AND wrapped IS NOT NULL"
                ),
                (row.wrapped, row.owner, row.generation),
            )

    def destroy(self, cur: Any, owner: str, actor: str) -> int:
        """Forget the material of every key of `owner`; how many keys were still alive."""
        cur.execute(
            self.sql(
                f"UPDATE {TABLE} SET wrapped = NULL, destroyed_at = ?, destroyed_by = ?"
                " WHERE owner = ? AND wrapped IS NOT NULL"
            ),
            (now(), actor, owner),
        )
        return int(cur.rowcount or 0)

    def destroyed_counts(self, cur: Any) -> dict[str, int]:
        """How many keys of each owner were destroyed (a count grows with each erasure)."""
        cur.execute(
            f"SELECT owner, COUNT(*) FROM {TABLE} WHERE destroyed_at IS NOT NULL GROUP BY owner"
        )
        return {owner: int(count) for owner, count in cur.fetchall()}

    def first_stored_event(self, cur: Any) -> bytes | None:
        """The state of one stored event, if the store holds any (to recognise an old store)."""
        table = events_table(self.is_postgres)
        if self.is_postgres:
            cur.execute("SELECT to_regclass(%s)", (table,))
            if cur.fetchone()[0] is None:
                return None
        else:
            cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
            if cur.fetchone() is None:
                return None
        cur.execute(f"SELECT state FROM {table} LIMIT 1")
        row = cur.fetchone()
        return bytes(row[0]) if row else None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
