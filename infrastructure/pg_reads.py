"""PostgreSQL reads of one aggregate's events, for its events and its snapshots (and of both
at once), and the snapshots' insert that deletes a job's older snapshots.

The library's query, with the one id given back on every event rather than parsed per row,
rows as tuples in binary (bytea as it is stored, not as hex text), each shape of the query
composed once and prepared, and the rows also given bare (`select_rows`) for a mapper that
maps them without a `StoredEvent` each.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from eventsourcing import postgres as es_pg
from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.utils import retry
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Composed, Identifier

from infrastructure.event_store import EventsFromRows, Row

_SELECT_ONCE = es_pg.PostgresAggregateRecorder.select_events.__wrapped__  # retried here


class RowReads(EventsFromRows, es_pg.PostgresAggregateRecorder):
    """The library's aggregate recorder with faster reads of one aggregate."""

    def __init__(
        self, datastore: es_pg.PostgresDatastore, *, events_table_name: str = "stored_events"
    ):
        super().__init__(datastore, events_table_name=events_table_name)
        self._select_statements: dict[tuple[bool, bool, bool, bool], bytes] = {}
        self._after_snapshot_statement: bytes | None = None
        self.select_events_by_id_statement = SQL(
            "SELECT originator_version, topic, state FROM {events} WHERE originator_id = %s"
        ).format(events=Identifier(self.datastore.schema, self.events_table_name))

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_rows(
        self,
        originator_id: uuid.UUID | str,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> tuple[uuid.UUID | str, Sequence[Row]]:
        """What `select_events` reads, as the id and each event's (version, topic, state)."""
        if not isinstance(originator_id, uuid.UUID) or self.datastore.originator_id_type != "uuid":
            found = _SELECT_ONCE(self, originator_id, gt=gt, lte=lte, desc=desc, limit=limit)
            stored_id = found[0].originator_id if found else originator_id
            return stored_id, [(s.originator_version, s.topic, s.state) for s in found]
        return self._rows(originator_id, gt, lte, desc, limit)

    def _rows(
        self,
        originator_id: uuid.UUID,
        gt: int | None,
        lte: int | None,
        desc: bool,
        limit: int | None,
    ) -> tuple[uuid.UUID, list[Row]]:
        params: list[Any] = [originator_id]
        params += [bound for bound in (gt, lte, limit) if bound is not None]
        shape = (gt is not None, lte is not None, desc, limit is not None)
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            query = self._select_statements.get(shape)
            if query is None:
                query = self._select_statement(*shape).as_bytes(conn)
                self._select_statements[shape] = query
            curs.execute(query, params, prepare=True, binary=True)
            return originator_id, curs.fetchall()

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def count_events(self, originator_id: uuid.UUID | str, lte: int) -> int:
        """How many of an aggregate's events are stored up to version `lte`."""
        given: uuid.UUID | str = originator_id
        if self.datastore.originator_id_type != "uuid" or not isinstance(given, uuid.UUID):
            given = str(originator_id)
        statement = SQL(
            "SELECT count(*) FROM {events} WHERE originator_id = %s AND originator_version <= %s"
        ).format(events=Identifier(self.datastore.schema, self.events_table_name))
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(statement, (given, lte), prepare=True)
            row = curs.fetchone()
        return int(row[0]) if row is not None else 0

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def select_rows_after_snapshot(
        self, snapshots: RowReads, originator_id: uuid.UUID, counted: int = 0
    ) -> tuple[uuid.UUID, Row | None, int | None, list[Row]]:
        """One aggregate's latest snapshot (None without one), how many of its events are
        stored up to the snapshot (None when the snapshot is at `counted` or before: counted
        already), and its events after it, read by one statement: one round trip where the
        library's reading takes two. The events are those after the snapshot
        the same statement found (`snapshots` is the application's snapshots recorder; the
        statement is made once)."""
        with self.datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            if self._after_snapshot_statement is None:
                self._after_snapshot_statement = self._after_snapshot(snapshots).as_bytes(conn)
            curs.execute(
                self._after_snapshot_statement,
                (originator_id, counted, originator_id, originator_id),
                prepare=True,
                binary=True,
            )
            found = curs.fetchall()
        if found and found[0][0]:
            rows = [row[1:4] for row in found[1:]]
            return originator_id, found[0][1:4], found[0][4], rows
        return originator_id, None, 0, [row[1:4] for row in found]

    def _after_snapshot(self, snapshots: RowReads) -> Composed:
        return SQL(
            "WITH snapshot AS (SELECT originator_version, topic, state FROM {snapshots}"
            " WHERE originator_id = %s ORDER BY originator_version DESC LIMIT 1)"
            " SELECT true, originator_version, topic, state, CASE WHEN originator_version > %s"
            " THEN (SELECT count(*) FROM {events} e WHERE e.originator_id = %s"
            " AND e.originator_version <= snapshot.originator_version) END"
            " FROM snapshot"
            " UNION ALL SELECT false, originator_version, topic, state, NULL FROM {events}"
            " WHERE originator_id = %s"
            " AND originator_version > COALESCE((SELECT originator_version FROM snapshot), 0)"
            " ORDER BY 1 DESC, 2"
        ).format(
            snapshots=Identifier(snapshots.datastore.schema, snapshots.events_table_name),
            events=Identifier(self.datastore.schema, self.events_table_name),
        )

    def _select_statement(self, gt: bool, lte: bool, desc: bool, limit: bool) -> Composed:
        statement = self.select_events_by_id_statement
        if gt:
            statement += SQL(" AND originator_version > %s")
        if lte:
            statement += SQL(" AND originator_version <= %s")
        statement += SQL(" ORDER BY originator_version " + ("DESC" if desc else "ASC"))
        if limit:
            statement += SQL(" LIMIT %s")
        return statement


class SnapshotRows(RowReads):
    """The snapshots' recorder: RowReads, whose insert of a snapshot deletes the job's older
    snapshots in the same statement (a class of its own: the events' recorder, also RowReads,
    inserts with no delete)."""

    def __init__(
        self, datastore: es_pg.PostgresDatastore, *, events_table_name: str = "stored_events"
    ):
        super().__init__(datastore, events_table_name=events_table_name)
        table = Identifier(self.datastore.schema, self.events_table_name)
        self.insert_events_statement = SQL(
            "WITH inserted AS ({insert} RETURNING originator_id, originator_version) "
            "DELETE FROM {table} AS older USING inserted "
            "WHERE older.originator_id = inserted.originator_id "
            "AND older.originator_version < inserted.originator_version"
        ).format(insert=self.insert_events_statement, table=table)

    def insert_unless_busy(self, stored_events: Sequence[StoredEvent]) -> bool:
        """Insert (True): PostgreSQL has no single writer that a reader would queue behind."""
        self.insert_events(stored_events)
        return True
