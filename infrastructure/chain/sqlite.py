"""The SQLite application recorder that writes each event's chain entry in its transaction, and
the snapshots' recorder, whose insert deletes a job's older snapshots."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Any
from uuid import UUID

from eventsourcing import sqlite as es_sqlite
from eventsourcing.persistence import (
    ApplicationRecorder,
    ConnectionUnavailableError,
    OperationalError,
    StoredEvent,
)

from infrastructure.chain.hashing import (
    AGGREGATE_CHAIN_ROWS,
    AGGREGATE_ORPHAN_LINKS,
    CHAIN_ROWS,
    CHAIN_START,
    ORPHAN_LINKS,
    ChainRow,
    Position,
    canonical_id,
    chain_key,
    links_for,
    predecessors,
)
from infrastructure.event_store import EventsFromRows, Row

SCAN_BATCH = 2000
# A state cell is read as bytes whatever its stored type; its type is read beside it.
CHAIN_COLUMNS = {
    "state": "CAST(e.state AS BLOB)",
    "position": "e.rowid",
    "state_type": "typeof(e.state)",
}


def _db_id(originator_id: UUID | str) -> str:
    return originator_id.hex if isinstance(originator_id, UUID) else originator_id


class WriterFirstTransaction(es_sqlite.SQLiteTransaction):
    """The library's transaction, begun holding the store's write lock (`BEGIN IMMEDIATE`).

    A deferred transaction that reads and then writes cannot wait for the lock: when another
    process has committed since its read, SQLite fails the write at once ("database is
    locked"). Taking the lock first makes it wait, as any write does, up to the lock timeout."""

    def __enter__(self) -> es_sqlite.SQLiteCursor:
        cursor = self.connection.cursor()
        try:
            cursor.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise OperationalError(exc) from exc
        return cursor


class CreatesWithWriteLock(es_sqlite.SQLiteRecorder):
    """A recorder whose tables are created in one transaction holding the write lock: a process
    starting beside one that writes (the create statements read the schema, then write) waits
    for it, where it failed to start."""

    def create_table(self) -> None:
        with (
            self.datastore.get_connection(commit=True) as connection,
            WriterFirstTransaction(connection, commit=True) as cursor,
            cursor,
        ):
            self._create_table(cursor)


class ChainedSQLiteApplicationRecorder(
    EventsFromRows, CreatesWithWriteLock, es_sqlite.SQLiteApplicationRecorder
):
    """Stores events as the library does, plus `<events table>_chain` rows beside them."""

    chain_key: bytes | None = None

    @property
    def chain_table_name(self) -> str:
        return f"{self.events_table_name}_chain"

    @property
    def chain_start_table_name(self) -> str:
        return f"{self.chain_table_name}_start"

    def construct_create_table_statements(self) -> list[str]:
        start = self.chain_start_table_name
        return [
            *super().construct_create_table_statements(),
            f"CREATE TABLE IF NOT EXISTS {self.chain_table_name} ("
            "originator_id TEXT, originator_version INTEGER, hash BLOB NOT NULL, "
            "previous_hash BLOB, PRIMARY KEY (originator_id, originator_version)) WITHOUT ROWID",
            f"CREATE TABLE IF NOT EXISTS {start} ("
            "one INTEGER PRIMARY KEY CHECK (one = 1), notification_id INTEGER NOT NULL)",
            f"INSERT OR IGNORE INTO {start} "
            f"SELECT 1, COALESCE(MAX(rowid), 0) FROM {self.events_table_name}",
        ]

    def _insert_events(
        self, c: es_sqlite.SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        previous: dict[Position, bytes] = {}
        for oid, version in predecessors(stored_events):
            c.execute(
                f"SELECT hash FROM {self.chain_table_name} "
                "WHERE originator_id=? AND originator_version=?",
                (_db_id(oid), version),
            )
            row = c.fetchone()
            if row is not None:
                previous[(canonical_id(oid), version)] = bytes(row[0])
        links = links_for(stored_events, previous, self.chain_key)
        c.executemany(
            f"INSERT INTO {self.chain_table_name} VALUES (?,?,?,?)",
            [(_db_id(k.originator_id), k.version, k.hash, k.previous_hash) for k in links],
        )
        return ids

    def select_rows(
        self,
        originator_id: UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> tuple[UUID | str, Sequence[Row]]:
        """What `select_events` reads, as the id and each event's (version, topic, state)."""
        statement = self.select_events_statement
        params: list[Any] = [_db_id(originator_id)]
        if gt is not None:
            statement += "AND originator_version>? "
            params.append(gt)
        if lte is not None:
            statement += "AND originator_version<=? "
            params.append(lte)
        statement += (
            "ORDER BY originator_version DESC " if desc else "ORDER BY originator_version ASC "
        )
        if limit is not None:
            statement += "LIMIT ? "
            params.append(limit)
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, params)
            rows = c.fetchall()
        if not rows:
            return originator_id, []
        stored_id = self.convert_originator_id(rows[0]["originator_id"])
        return stored_id, [(row["originator_version"], row["topic"], row["state"]) for row in rows]

    def count_events(self, originator_id: UUID | str, lte: int) -> int:
        """How many of an aggregate's events are stored up to version `lte`."""
        statement = (
            f"SELECT count(*) FROM {self.events_table_name} "
            "WHERE originator_id=? AND originator_version<=?"
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement, [_db_id(originator_id), lte])
            return int(c.fetchone()[0])

    def chain_rows(self) -> Iterator[ChainRow]:
        """Every stored event with its chain entry, by aggregate then version."""
        statement = CHAIN_ROWS.format(
            events=self.events_table_name, chain=self.chain_table_name, **CHAIN_COLUMNS
        )
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement)
            while rows := c.sqlite_cursor.fetchmany(SCAN_BATCH):
                yield from (self._row(r) for r in rows)

    def orphan_links(self) -> list[ChainRow]:
        """Chain entries whose event is no longer stored."""
        statement = ORPHAN_LINKS.format(events=self.events_table_name, chain=self.chain_table_name)
        with self.datastore.transaction(commit=False) as c:
            c.execute(statement)
            return [self._row(r) for r in c.fetchall()]

    def aggregate_chain_rows(self, originator_id: UUID | str) -> list[ChainRow]:
        """One aggregate's stored events with their chain entries, and its chain entries whose
        event is no longer stored, by version."""
        tables = {"events": self.events_table_name, "chain": self.chain_table_name, "id": "?"}
        rows: list[ChainRow] = []
        with self.datastore.transaction(commit=False) as c:
            for template in (AGGREGATE_CHAIN_ROWS, AGGREGATE_ORPHAN_LINKS):
                c.execute(template.format(**tables, **CHAIN_COLUMNS), [_db_id(originator_id)])
                rows += [self._row(r) for r in c.fetchall()]
        return sorted(rows, key=lambda r: r.version)

    def chain_start(self) -> int | None:
        """The position after which every event has a chain entry (None: not recorded)."""
        try:
            with self.datastore.transaction(commit=False) as c:
                c.execute(CHAIN_START.format(start=self.chain_start_table_name))
                row = c.fetchone()
        except OperationalError:
            return None
        return None if row is None else int(row[0])

    def _row(self, row: Any) -> ChainRow:
        return ChainRow.of(self.convert_originator_id(row[0]), *tuple(row)[1:])


class SQLiteSnapshots(CreatesWithWriteLock, es_sqlite.SQLiteAggregateRecorder):
    """The library's aggregate recorder, for snapshots: inserting one deletes the job's older
    snapshots in the same transaction."""

    def _insert_events(
        self, c: es_sqlite.SQLiteCursor, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._insert_events(c, stored_events, **kwargs)
        c.executemany(
            f"DELETE FROM {self.events_table_name} "
            "WHERE originator_id = ? AND originator_version < ?",
            [(_db_id(s.originator_id), s.originator_version) for s in stored_events],
        )
        return ids

    def insert_unless_busy(self, stored_events: Sequence[StoredEvent]) -> bool:
        """Insert now if the store's one writer is free, else nothing: False, having waited for
        nothing (a snapshot taken as a job is read must not hold up the read)."""
        pool = self.datastore.pool
        try:
            connection = pool.get_connection(timeout=0.0, is_writer=True)
        except ConnectionUnavailableError:
            return False
        try:
            with connection.transaction(commit=True) as cursor:
                self._insert_events(cursor, stored_events)
        finally:
            pool.put_connection(connection)
        return True


class ChainedSQLiteFactory(es_sqlite.SQLiteFactory):
    """The library's SQLite factory, with the chained application recorder."""

    application_recorder_class = ChainedSQLiteApplicationRecorder
    aggregate_recorder_class = SQLiteSnapshots  # the snapshots' recorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        # SQLite has one writer at a time, and the library's pool hands its connections out in
        # turn, so a read waits behind writes that wait for the writer. The pool waits as long
        # as SQLite itself waits for a lock (SQLITE_LOCK_TIMEOUT), where it gave up after its
        # own 5 s and a burst of edits was answered "storage unavailable" while SQLite would
        # still have waited.
        pool = self.datastore.pool
        pool.pool_timeout = float(pool.lock_timeout or es_sqlite.SQLITE3_DEFAULT_LOCK_TIMEOUT)

    def application_recorder(self) -> ApplicationRecorder:
        """The chained recorder, keyed from the environment's cipher key."""
        recorder = super().application_recorder()
        if isinstance(recorder, ChainedSQLiteApplicationRecorder):
            recorder.chain_key = chain_key(self.env.get("CIPHER_KEY"))
        return recorder
