"""The chain recorders override private methods of eventsourcing 9.5.6: fail loudly if they move.

The chain is written in the insert's own transaction by overriding the library's
`_insert_stored_events` and `_fetch_ids_after_insert_events` (PostgreSQL) and `_insert_events`
(SQLite). A library upgrade that renames them, changes their parameters or stops calling them
from `insert_events` would leave events unchained without any error: these tests catch that.
"""

from __future__ import annotations

import inspect
from importlib.metadata import version

import pytest
from eventsourcing import postgres as es_pg
from eventsourcing import sqlite as es_sqlite

from infrastructure.chain.postgres import ChainedPostgresApplicationRecorder
from infrastructure.chain.sqlite import ChainedSQLiteApplicationRecorder

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
]


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


@pytest.mark.parametrize(("library", "name"), [(s[0], s[2]) for s in SEAMS])
def test_the_library_still_calls_the_overridden_method_when_inserting(
    library: type, name: str
) -> None:
    callers = [
        inspect.getsource(klass.insert_events)
        for klass in library.__mro__
        if "insert_events" in vars(klass)
    ]
    assert any(f"self.{name}(" in source for source in callers)
