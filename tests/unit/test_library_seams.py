"""The chain recorders and the repository override private methods of eventsourcing 9.5.6:
fail loudly if they move.

The chain is written in the insert's own transaction by overriding the library's
`_insert_stored_events` and `_fetch_ids_after_insert_events` (PostgreSQL) and `_insert_events`
(SQLite). A library upgrade that renames them, changes their parameters or stops calling them
from `insert_events` would leave events unchained without any error: these tests catch that.
The repository reads a job's snapshot and later events at once by overriding
`_reconstruct_aggregate`, which an upgrade could stop calling from `get` just as silently.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

import pytest
from eventsourcing import postgres as es_pg
from eventsourcing import sqlite as es_sqlite
from eventsourcing.application import Repository

from infrastructure.chain.postgres import ChainedPostgresApplicationRecorder
from infrastructure.chain.sqlite import ChainedSQLiteApplicationRecorder
from infrastructure.event_store import SnapshotAndEventsRepository

SEAMS = [
    (
        es_pg.PostgresApplicationRecorder,
        ChainedPostgresApplicationRecorder,
        "_insert_stored_events",
    ),
    (
        es_pg.PostgresApplicationRecorder,
        ChainedPostgresApplicationRecorder,
        "_fetch_ids_after_insert_events",
    ),
    (es_sqlite.SQLiteApplicationRecorder, ChainedSQLiteApplicationRecorder, "_insert_events"),
    (Repository, SnapshotAndEventsRepository, "_reconstruct_aggregate"),
]
INSERTS = [seam for seam in SEAMS if seam[0] is not Repository]


def test_the_library_is_the_pinned_version() -> None:
    assert version("eventsourcing") == "9.5.6"


@pytest.mark.parametrize(("library", "ours", "name"), SEAMS)
def test_the_overridden_method_exists_with_the_same_parameters(
    library: type, ours: type, name: str
) -> None:
    theirs = inspect.signature(getattr(library, name))
    mine = inspect.signature(getattr(ours, name))
    assert [p.kind for p in theirs.parameters.values()] == [
        p.kind for p in mine.parameters.values()
    ]
    assert len(theirs.parameters) == len(mine.parameters)
    assert name in vars(ours), f"{ours.__name__} no longer overrides {name}"


@pytest.mark.parametrize(("library", "name"), [(s[0], s[2]) for s in INSERTS])
def test_the_library_still_calls_the_overridden_method_when_inserting(
    library: type, name: str
) -> None:
    callers = [
        inspect.getsource(klass.insert_events)
        for klass in library.__mro__
        if "insert_events" in vars(klass)
    ]
    assert any(f"self.{name}(" in source for source in callers)


def test_the_library_still_loads_an_aggregate_through_the_overridden_method() -> None:
    assert "self._reconstruct_aggregate(" in inspect.getsource(Repository.get)
