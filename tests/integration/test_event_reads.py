"""Reading a job's events the fast way gives exactly what the library's readers give.

The recorders read one aggregate's rows without parsing its id per row, and the mapper
decodes with orjson and a cipher set up once. Both stores are read through both paths, over
every range a load or snapshot asks for, and must agree event for event and on the loaded
state, sealed fields and snapshots included.
"""

from __future__ import annotations

import base64
from typing import Any
from uuid import uuid4

import pytest
from eventsourcing import postgres as es_pg
from eventsourcing import sqlite as es_sqlite
from eventsourcing.cryptography import AESCipher
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent
from eventsourcing.utils import Environment

from infrastructure.keys.sealing import SealingMapper
from infrastructure.usecases.registrations import Registrations
from infrastructure.usecases.snapshots import fold_events
from tests.integration.test_application import PASSWORD
from tests.integration.test_snapshots import long_job, state


class LibraryReading(SealingMapper):
    """The sealing mapper on the library's own mapper, cipher and transcoder."""

    def _library_event(self, stored_event: StoredEvent) -> Any:
        return Mapper.to_domain_event(self, stored_event)


def library_mapper(app: Registrations) -> LibraryReading:
    transcoder = JSONTranscoder()
    app.register_transcodings(transcoder)
    key = base64.b64encode(app.mapper.cipher.key).decode()  # type: ignore[union-attr]
    mapper = LibraryReading(transcoder, cipher=AESCipher(Environment(env={"CIPHER_KEY": key})))
    mapper.keyring = app.keyring
    return mapper


def library_select(app: Registrations, originator_id: Any, **ranges: Any) -> list[StoredEvent]:
    recorder = app.recorder
    if isinstance(recorder, es_pg.PostgresAggregateRecorder):
        return list(
            es_pg.PostgresAggregateRecorder.select_events(recorder, originator_id, **ranges)
        )
    assert isinstance(recorder, es_sqlite.SQLiteAggregateRecorder)
    return list(es_sqlite.SQLiteAggregateRecorder.select_events(recorder, originator_id, **ranges))


RANGES: list[dict[str, Any]] = [
    {},
    {"gt": 3},
    {"lte": 1},
    {"gt": 2, "lte": 7},
    {"desc": True, "limit": 1},
    {"desc": True, "lte": 6, "limit": 3},
    {"gt": 1000},
    {"limit": 0},
]


@pytest.mark.parametrize("ranges", RANGES)
def test_the_recorder_reads_the_rows_the_library_reads(app: Registrations, ranges: Any) -> None:
    job = long_job(app, 9)
    ours = list(app.recorder.select_events(job.id, **ranges))
    assert ours == library_select(app, job.id, **ranges)
    assert all(type(s.originator_id) is type(job.id) for s in ours)
    assert list(app.recorder.select_events(str(job.id), **ranges)) == library_select(
        app, str(job.id), **ranges
    )
    assert list(app.recorder.select_events(uuid4(), **ranges)) == []


def test_every_event_and_the_load_equal_the_librarys_reading(app: Registrations) -> None:
    app.snapshot_every = 4
    job = long_job(app, 11)
    library = library_mapper(app)
    stored = library_select(app, job.id)
    ours = [app.mapper.to_domain_event(s) for s in app.recorder.select_events(job.id)]
    theirs = [library.to_domain_event(s) for s in stored]
    assert [(type(e), vars(e)) for e in ours] == [(type(e), vars(e)) for e in theirs]
    assert ours[0].execution_config["account"]["password"] == PASSWORD  # type: ignore[attr-defined]
    assert app.snapshots is not None
    snapshots = list(app.snapshots.get(job.id))
    assert snapshots, "the job was snapshotted"
    for snapshot in snapshots:
        raw = app.snapshots.recorder.select_events(job.id, lte=snapshot.originator_version)
        for row in raw:
            assert vars(app.mapper.to_domain_event(row)) == vars(library.to_domain_event(row))
    folded = fold_events(None, theirs)
    assert state(app.job(job.id)) == state(folded)
    assert state(app.repository.get(job.id, projector_func=fold_events)) == state(folded)


@pytest.mark.parametrize("ranges", RANGES)
def test_the_event_store_reads_the_events_the_library_reads(
    app: Registrations, ranges: Any
) -> None:
    app.snapshot_every = 4
    job = long_job(app, 11)
    library = library_mapper(app)
    read: dict[Any, list[Any]] = {}
    for asked in (job.id, str(job.id)):
        ours = read[asked] = [(type(e), vars(e)) for e in app.events.get(asked, **ranges)]
        theirs = [
            (type(e), vars(e))
            for e in map(library.to_domain_event, library_select(app, asked, **ranges))
        ]
        assert ours == theirs
    if not ranges:
        assert len(read[job.id]) == job.version
        assert read[job.id][0][1]["execution_config"]["account"]["password"] == PASSWORD
    assert list(app.events.get(uuid4(), **ranges)) == []


def test_the_snapshots_recorder_reads_the_rows_the_library_reads(app: Registrations) -> None:
    app.snapshot_every = 4
    job = long_job(app, 11)
    assert app.snapshots is not None
    recorder = app.snapshots.recorder
    for ranges in RANGES:
        for asked in (job.id, str(job.id)):
            ours = list(recorder.select_events(asked, **ranges))
            if isinstance(recorder, es_pg.PostgresAggregateRecorder):
                theirs = es_pg.PostgresAggregateRecorder.select_events(recorder, asked, **ranges)
            else:
                assert isinstance(recorder, es_sqlite.SQLiteAggregateRecorder)
                theirs = es_sqlite.SQLiteAggregateRecorder.select_events(recorder, asked, **ranges)
            assert ours == list(theirs)
    assert list(recorder.select_events(job.id)), "the job was snapshotted"
