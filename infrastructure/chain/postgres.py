"""The PostgreSQL application recorder that writes each event's chain entry in its transaction.

A little over 200 lines: the recorder's overrides of the library's insert, its statements and
the pipeline's error handling share one connection and transaction, so they stay together;
hashing is in `hashing`, the check of a chain in `verify`, reads in `infrastructure.pg_reads`.
"""

from __future__ import annotations

import copy
import select
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any, cast
from uuid import UUID

import psycopg
from eventsourcing import postgres as es_pg
from eventsourcing.persistence import (
    ApplicationRecorder,
    ProgrammingError,
    StoredEvent,
)
from psycopg import Connection, Cursor
from psycopg.conninfo import conninfo_to_dict
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Composed, Identifier, Placeholder

from domain.job_events import RESTING_TOPICS
from infrastructure.chain.hashing import (
    AGGREGATE_CHAIN_ROWS,
    AGGREGATE_ORPHAN_LINKS,
    CHAIN_ROWS,
    CHAIN_START,
    ORPHAN_LINKS,
    ChainRow,
    RecentHashes,
    canonical_id,
    chain_key,
    links_for,
    predecessors,
)
from infrastructure.chain.own_connection import OwnConnection, is_outsized
from infrastructure.chain.pool_waits import BoundedPoolWaits
from infrastructure.dropped_connections import RECONNECT_SECONDS
from infrastructure.pg_reads import RowReads, SnapshotRows

SCAN_BATCH = 2000
FLUSH_WAIT_SECONDS = 5.0
# The library retries a failed insert 10 times, 0.2 s apart, without checking whether the
# failed attempt committed. Writes are retried once, by StorageRetry, which checks first.
_INSERT_ONCE = es_pg.PostgresApplicationRecorder.insert_events.__wrapped__


def send_buffered(conn: Connection[Any]) -> None:
    """Send what libpq still holds of the pipeline's messages before waiting for results.

    psycopg's pipeline can wait for results while part of a large message (a save of
    thousands of events is one INSERT of an array) is still in libpq's output buffer, and the
    server waits for the rest of it: both sides wait for ever.
    """
    pgconn = conn.pgconn
    while pgconn.flush() == 1:
        select.select([], [pgconn.socket], [], FLUSH_WAIT_SECONDS)


@contextmanager
def synced_on_error(conn: Connection[Any]) -> Iterator[None]:
    """Leave the pipeline at a sync point when a statement sent here raises.

    The library syncs once, after its insert, and rolls back from there. A statement of ours
    may be the one that collects the insert's error (a unique violation when two processes
    save the same job); without a sync the rollback meets the aborted pipeline, and the
    caller gets "pipeline aborted", which reads as a lost connection, instead of the conflict.
    """
    try:
        yield
    except psycopg.Error:
        with suppress(psycopg.Error), conn.pipeline() as pipeline:
            pipeline.sync()
        raise


class ChainedPostgresApplicationRecorder(RowReads, es_pg.PostgresApplicationRecorder):
    """Stores events as the library does, plus `<events table>_chain` rows beside them."""

    def __init__(
        self, datastore: es_pg.PostgresDatastore, *, events_table_name: str = "stored_events"
    ):
        super().__init__(datastore, events_table_name=events_table_name)
        if datastore.enable_db_functions:
            raise ProgrammingError("The hash chain needs POSTGRES_ENABLE_DB_FUNCTIONS off")
        self.chain_table_name = f"{events_table_name}_chain"
        self.chain_key: bytes | None = None
        self.chain_start_table_name = f"{self.chain_table_name}_start"
        self.check_identifier_length(self.chain_start_table_name)
        self.recent = RecentHashes(resting_topics=RESTING_TOPICS)
        self._pending = threading.local()
        id_type = SQL(self.datastore.originator_id_type)
        self.sql_create_statements.append(
            self._composed(
                "CREATE TABLE IF NOT EXISTS {chain} (originator_id {id_type} NOT NULL, "
                "originator_version bigint NOT NULL, hash bytea NOT NULL, previous_hash bytea, "
                "PRIMARY KEY (originator_id, originator_version))",
                id_type=id_type,
            )
        )
        self.sql_create_statements += self._start_statements()
        # Arrays go in binary (%b): as text, every bytea and composite element was quoted and
        # escaped by a regular expression, in Python, about half the CPU of an insert.
        self.select_previous_statement = self._sql(
            "SELECT originator_id, originator_version, hash FROM {chain} "
            "WHERE (originator_id, originator_version) IN "
            "(SELECT * FROM unnest(%b::{id_type}[], %b::bigint[]))",
            id_type=id_type,
        )
        self.insert_links_statement = self._sql(
            "INSERT INTO {chain} SELECT * FROM "
            "unnest(%b::{id_type}[], %b::bigint[], %b::bytea[], %b::bytea[])",
            id_type=id_type,
        )
        self.insert_rows_statement = self._sql(
            "INSERT INTO {events} (originator_id, originator_version, topic, state) "
            "SELECT * FROM unnest(%b::{id_type}[], %b::bigint[], %b::text[], %b::bytea[]) "
            "RETURNING notification_id",
            id_type=id_type,
        )
        self.notify_statement = SQL("NOTIFY {0}").format(Identifier(self.channel_name)).as_bytes()
        # The library's lock statements, composed here once rather than on every insert (its
        # timeout is a Literal, adapted through a transformer of the connection each time).
        self.lock_table_statements = [
            composed.as_bytes() if isinstance(composed, Composable) else composed
            for composed in self.lock_table_statements
        ]

    def _start_statements(self) -> list[Composed]:
        """Make the chain's start row, at the highest event position stored when first made."""
        return [
            self._composed(
                "CREATE TABLE IF NOT EXISTS {start} (one boolean PRIMARY KEY DEFAULT true "
                "CHECK (one), notification_id bigint NOT NULL)"
            ),
            self._composed(
                "INSERT INTO {start} (notification_id) SELECT COALESCE(MAX(notification_id), 0) "
                "FROM {events} ON CONFLICT DO NOTHING"
            ),
        ]

    def _composed(self, template: str, **parts: Any) -> Composed:
        schema = self.datastore.schema
        tables = {
            "chain": Identifier(schema, self.chain_table_name),
            "events": Identifier(schema, self.events_table_name),
            "start": Identifier(schema, self.chain_start_table_name),
        }
        return SQL(template).format(**tables, **parts)

    def _sql(self, template: str, **parts: Any) -> bytes:
        """A statement on the chain and events tables, composed once."""
        return self._composed(template, **parts).as_bytes()

    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        self._pending.links = []
        try:
            inserter = self._outsized_inserter() if is_outsized(stored_events) else self
            ids: Sequence[int] | None = _INSERT_ONCE(inserter, stored_events, **kwargs)
            self.recent.remember(self._pending.links, [e.topic for e in stored_events])
        finally:
            # Each store thread would otherwise hold its last insert's links and hashes
            # (thousands, after a batch is created or started) until its next insert.
            self._pending.links, self._pending.known, self._pending.lookup = [], {}, None
        return ids

    def _outsized_inserter(self) -> ChainedPostgresApplicationRecorder:
        """This recorder, on a connection of its own (see `own_connection`)."""
        inserter = copy.copy(self)
        inserter.datastore = OwnConnection(self.datastore)  # type: ignore[assignment]
        return inserter

    def _insert_stored_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        # The library's steps (lock, notify, insert), with the rows sent as four binary arrays
        # instead of a text array of its composite type, and its NOTIFY composed once.
        self._lock_table(curs)
        curs.execute(self.notify_statement)
        columns = (
            [e.originator_id for e in stored_events],
            [e.originator_version for e in stored_events],
            [e.topic for e in stored_events],
            [e.state for e in stored_events],
        )
        curs.execute(self.insert_rows_statement, columns, prepare=True)
        with synced_on_error(curs.connection):
            self._look_up_predecessors(curs, stored_events)

    def _look_up_predecessors(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent]
    ) -> None:
        send_buffered(curs.connection)
        needed = predecessors(stored_events)
        self._pending.known = self.recent.known(needed)
        self._pending.lookup = None
        self._pending.links = []
        missing = [(o, v) for o, v in needed if (canonical_id(o), v) not in self._pending.known]
        if missing:
            # Sent in the insert's pipeline, under its table lock: no extra round trip.
            lookup = curs.connection.cursor()
            lookup.execute(
                self.select_previous_statement,
                ([oid for oid, _ in missing], [version for _, version in missing]),
                prepare=True,
            )
            self._pending.lookup = lookup

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        with synced_on_error(curs.connection):
            self._insert_links(curs, stored_events)
        return ids

    def _insert_links(self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent]) -> None:
        previous = dict(self._pending.known)
        lookup: Cursor[DictRow] | None = self._pending.lookup
        if lookup is not None:
            with lookup:
                previous.update(
                    ((canonical_id(r["originator_id"]), r["originator_version"]), bytes(r["hash"]))
                    for r in lookup.fetchall()
                )
        links = self._pending.links = links_for(stored_events, previous, self.chain_key)
        with curs.connection.cursor() as writer:
            writer.execute(
                self.insert_links_statement,
                (
                    [k.originator_id for k in links],
                    [k.version for k in links],
                    [k.hash for k in links],
                    [k.previous_hash for k in links],
                ),
                prepare=True,
            )
        send_buffered(curs.connection)

    def chain_rows(self) -> Iterator[ChainRow]:
        """Every stored event with its chain entry, by aggregate then version."""
        columns = {"state": "e.state", "position": "e.notification_id", "state_type": "NULL"}
        statement = self._sql(CHAIN_ROWS, **{k: SQL(v) for k, v in columns.items()})
        with (
            self.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor(name="regflow_chain_scan") as scan,
        ):
            scan.itersize = SCAN_BATCH
            scan.execute(statement)
            yield from (_row(r) for r in scan)

    def orphan_links(self) -> list[ChainRow]:
        """Chain entries whose event is no longer stored."""
        statement = self._sql(ORPHAN_LINKS)
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(statement)
            return [_row(r) for r in curs.fetchall()]

    def aggregate_chain_rows(self, originator_id: UUID | str) -> list[ChainRow]:
        """One aggregate's stored events with their chain entries, and its chain entries whose
        event is no longer stored, by version."""
        columns = {"state": "e.state", "position": "e.notification_id", "state_type": "NULL"}
        parts = {k: SQL(v) for k, v in columns.items()} | {"id": Placeholder()}
        given = originator_id
        if self.datastore.originator_id_type != "uuid" or not isinstance(given, UUID):
            given = str(originator_id)
        rows: list[ChainRow] = []
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            for template in (AGGREGATE_CHAIN_ROWS, AGGREGATE_ORPHAN_LINKS):
                curs.execute(self._composed(template, **parts), [given])
                rows += [_row(r) for r in curs.fetchall()]
        return sorted(rows, key=lambda r: r.version)

    def chain_start(self) -> int | None:
        """The position after which every event has a chain entry (None: not recorded)."""
        try:
            with self.datastore.get_connection() as conn, conn.cursor() as curs:
                curs.execute(self._sql(CHAIN_START))
                row = curs.fetchone()
        except ProgrammingError:
            return None
        return None if row is None else int(row["notification_id"])


def _row(row: DictRow) -> ChainRow:
    return ChainRow.of(*row.values())


class ChainedPostgresFactory(es_pg.PostgresFactory):
    """The library's PostgreSQL factory, with the chained application recorder."""

    application_recorder_class = ChainedPostgresApplicationRecorder
    aggregate_recorder_class = SnapshotRows  # the snapshots' recorder

    def __init__(self, env: Any) -> None:
        super().__init__(env)
        self.datastore = cast(es_pg.PostgresDatastore, BoundedPoolWaits(self.datastore))
        self.datastore.pool.reconnect_timeout = RECONNECT_SECONDS  # the library passes none
        # The library connects with five parameters; the URL's others (sslmode, ...) join them.
        extra = self.env.get("POSTGRES_EXTRA_CONNINFO")
        if extra:
            kwargs = self.datastore.pool.kwargs
            if not isinstance(kwargs, dict):
                raise TypeError("the store's pool takes no dict of connection parameters")
            kwargs.update(conninfo_to_dict(extra))

    def application_recorder(self) -> ApplicationRecorder:
        """The chained recorder, keyed from the environment's cipher key."""
        recorder = super().application_recorder()
        if isinstance(recorder, ChainedPostgresApplicationRecorder):
            recorder.chain_key = chain_key(self.env.get("CIPHER_KEY"))
        return recorder
