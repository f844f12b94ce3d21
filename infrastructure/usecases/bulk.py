"""Loading many aggregates at once: a few queries for thousands of them, where the library's
repository asks two per aggregate (its latest snapshot, then the events after it).

Only reads: events are written as the store always writes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any
from uuid import UUID

from eventsourcing import postgres as es_pg
from eventsourcing import sqlite as es_sqlite
from eventsourcing.application import Application
from eventsourcing.persistence import AggregateRecorder, StoredEvent
from psycopg.sql import SQL, Identifier

IDS_PER_QUERY = 500  # well below SQLite's limit on bound parameters
Projector = Callable[[Any, Iterable[Any]], Any]
Key = UUID | str  # a stored event's originator id


def load_many(app: Application[UUID], ids: Sequence[UUID], projector: Projector) -> dict[UUID, Any]:
    """Each aggregate of `ids` that exists, as `app.repository.get` would give it, by id.

    Aggregates with a snapshot (long jobs: rare) are read from their latest snapshot on,
    each with its own query; every other aggregate's events come a chunk of ids at a time.
    """
    wanted = list(dict.fromkeys(ids))
    snapshots = latest_events(app.snapshots.recorder, wanted) if app.snapshots else {}
    stored = all_events(app.events.recorder, [i for i in wanted if i not in snapshots])
    for aggregate_id, snapshot in snapshots.items():
        after = app.events.recorder.select_events(aggregate_id, gt=snapshot.originator_version)
        stored[aggregate_id] = [snapshot, *after]
    to_domain = app.mapper.to_domain_event
    found: dict[UUID, Any] = {}
    for aggregate_id in wanted:
        events = stored.get(aggregate_id)
        if events and (aggregate := projector(None, map(to_domain, events))) is not None:
            found[aggregate_id] = aggregate
    return found


def all_events(recorder: AggregateRecorder, ids: Sequence[UUID]) -> dict[Key, list[StoredEvent]]:
    """Every stored event of each aggregate of `ids`, in version order."""
    return _grouped(_select(recorder, ids, latest=False))


def latest_events(recorder: AggregateRecorder, ids: Sequence[UUID]) -> dict[Key, StoredEvent]:
    """The last stored event of each aggregate of `ids` that has any (for the snapshot table:
    its latest snapshot)."""
    return {event.originator_id: event for event in _select(recorder, ids, latest=True)}


def _grouped(events: Iterable[StoredEvent]) -> dict[Key, list[StoredEvent]]:
    grouped: dict[Key, list[StoredEvent]] = {}
    for event in events:
        grouped.setdefault(event.originator_id, []).append(event)
    return grouped


def _select(recorder: AggregateRecorder, ids: Sequence[UUID], latest: bool) -> list[StoredEvent]:
    if not ids:
        return []
    if isinstance(recorder, es_sqlite.SQLiteAggregateRecorder):
        return _select_sqlite(recorder, ids, latest)
    if isinstance(recorder, es_pg.PostgresAggregateRecorder):
        return _select_postgres(recorder, ids, latest)
    # Another store (the library's in-memory one): its own reads, an aggregate at a time.
    selected: list[StoredEvent] = []
    for aggregate_id in ids:
        events = recorder.select_events(aggregate_id, desc=latest, limit=1 if latest else None)
        selected += events
    return selected


def _select_sqlite(
    recorder: es_sqlite.SQLiteAggregateRecorder, ids: Sequence[UUID], latest: bool
) -> list[StoredEvent]:
    table = recorder.events_table_name
    selected: list[StoredEvent] = []
    with recorder.datastore.transaction(commit=False) as cursor:
        for start in range(0, len(ids), IDS_PER_QUERY):
            chunk = [i.hex for i in ids[start : start + IDS_PER_QUERY]]
            marks = ",".join("?" * len(chunk))
            if latest:
                # SQLite takes the bare columns from the row where MAX() found its maximum.
                statement = (
                    "SELECT originator_id, MAX(originator_version) AS originator_version,"
                    f" topic, state FROM {table} WHERE originator_id IN ({marks})"
                    " GROUP BY originator_id"
                )
            else:
                statement = (
                    "SELECT originator_id, originator_version, topic, state"
                    f" FROM {table} WHERE originator_id IN ({marks})"
                    " ORDER BY originator_id, originator_version"
                )
            cursor.execute(statement, chunk)
            selected += [
                StoredEvent(
                    originator_id=recorder.convert_originator_id(row["originator_id"]),
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=row["state"],
                )
                for row in cursor.fetchall()
            ]
    return selected


def _select_postgres(
    recorder: es_pg.PostgresAggregateRecorder, ids: Sequence[UUID], latest: bool
) -> list[StoredEvent]:
    table = SQL("{}.{}").format(
        Identifier(recorder.datastore.schema), Identifier(recorder.events_table_name)
    )
    if latest:
        statement = SQL(
            "SELECT DISTINCT ON (originator_id) originator_id, originator_version, topic, state"
            " FROM {table} WHERE originator_id = ANY(%s)"
            " ORDER BY originator_id, originator_version DESC"
        ).format(table=table)
    else:
        statement = SQL(
            "SELECT originator_id, originator_version, topic, state"
            " FROM {table} WHERE originator_id = ANY(%s)"
            " ORDER BY originator_id, originator_version"
        ).format(table=table)
    as_text = recorder.datastore.originator_id_type == "text"
    selected: list[StoredEvent] = []
    with recorder.datastore.transaction(commit=False) as cursor:
        for start in range(0, len(ids), IDS_PER_QUERY * 10):
            chunk = ids[start : start + IDS_PER_QUERY * 10]
            cursor.execute(statement, ([str(i) for i in chunk] if as_text else list(chunk),))
            selected += [
                StoredEvent(
                    originator_id=row["originator_id"],
                    originator_version=row["originator_version"],
                    topic=row["topic"],
                    state=bytes(row["state"]),
                )
                for row in cursor.fetchall()
            ]
    return selected
