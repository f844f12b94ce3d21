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

import hypothesis
import pytest
from eventsourcing import postgres as es_pg
from eventsourcing import sqlite as es_sqlite
from eventsourcing.application import Repository
from eventsourcing.cryptography import AESCipher
from eventsourcing.persistence import JSONTranscoder, Mapper, StoredEvent
from eventsourcing.utils import Environment
from hypothesis import HealthCheck, given
from hypothesis import strategies as st

from infrastructure.event_store import EventsMissingBeforeSnapshot, VersionsSkipped
from infrastructure.keys.sealing import SealingMapper
from infrastructure.usecases.registrations import Registrations
from infrastructure.usecases.snapshots import fold_events
from tests.integration.audit_kit import RawLog, restoring
from tests.integration.test_application import PASSWORD
from tests.integration.test_snapshots import flip, long_job, state


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


def library_load(app: Registrations, job_id: Any) -> Any:
    """The job as the library's repository reads it: its latest snapshot, then the events
    after it, by two reads."""
    library = Repository(event_store=app.events, snapshot_store=app.snapshots)
    return library.get(job_id, projector_func=fold_events)


@hypothesis.settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    every=st.integers(min_value=1, max_value=7),
    edits=st.integers(min_value=0, max_value=16),
    snapshots_kept=st.booleans(),
)
def test_a_load_equals_the_librarys_two_reads_whatever_the_snapshots(
    app: Registrations, every: int, edits: int, snapshots_kept: bool
) -> None:
    """Snapshots at any version (none, one at the last event, one far behind), the job loaded
    by the one read of its snapshot and later events equals the library's two reads."""
    app.snapshot_every = every
    job = long_job(app, edits)
    if not snapshots_kept:
        RawLog(app.settings, app).run(
            f"DELETE FROM {snapshots_table(app)} WHERE originator_id=?",
            (RawLog(app.settings, app).key(str(job.id)),),
        )
    assert state(app.repository.get(job.id, projector_func=fold_events)) == state(
        library_load(app, job.id)
    )
    assert state(app.job(job.id)) == state(job)


def snapshots_table(app: Registrations) -> str:
    assert app.snapshots is not None
    return str(app.snapshots.recorder.events_table_name)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_job_and_its_snapshot_are_read_by_one_statement_on_postgres(
    app: Registrations, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The snapshot is not read on its own: that is a second round trip on every load.
    SQLite, read in process, keeps the library's two reads: they cost no round trip."""
    app.snapshot_every = 3
    job = long_job(app, 7)
    assert app.snapshots is not None
    asked: list[Any] = []
    recorder = app.snapshots.recorder
    monkeypatch.setattr(recorder, "select_events", lambda *a, **k: asked.append(a) or [])
    monkeypatch.setattr(recorder, "select_rows", lambda *a, **k: asked.append(a) or (a[0], []))
    assert state(app.job(job.id)) == state(job)
    assert asked == []


@pytest.mark.parametrize("after", [1, 2], ids=["the event after the snapshot", "a later one"])
def test_an_event_deleted_after_the_snapshot_is_said_as_such(
    app: Registrations, after: int
) -> None:
    app.snapshot_every = 4
    job = long_job(app, 9)
    app.snapshot_every = 1000
    for i in range(1, 4):  # events after the snapshot, so that the deleted one is not the last
        flip(app, job.id, i)
    assert app.snapshots is not None
    [snapshot] = [s.originator_version for s in app.snapshots.get(job.id, desc=True, limit=1)]
    assert snapshot + after < app.job(job.id).version
    log = RawLog(app.settings, app)
    with restoring(log, str(job.id)):
        log.delete(str(job.id), snapshot + after)
        with pytest.raises(VersionsSkipped) as raised:
            app.repository.get(job.id, projector_func=fold_events)
        assert (raised.value.found, raised.value.expected) == (
            snapshot + after + 1,
            snapshot + after,
        )


@pytest.mark.parametrize("before", [1, 2, 3], ids=["the first event", "one", "the snapshot's"])
def test_an_event_deleted_before_the_snapshot_is_said_as_such(
    app: Registrations, before: int
) -> None:
    """A load that starts from the snapshot reads none of the events it was taken after: it
    counts them, on both stores, now and at a past version. A process counts a snapshot once
    (the count reads the job's whole index): one that counted it before the deletion says so
    at the job's next snapshot; any other process at once."""
    app.snapshot_every = 4
    job = long_job(app, 9)
    app.snapshot_every = 1000
    flip(app, job.id, 1)
    assert app.snapshots is not None
    [snapshot] = [s.originator_version for s in app.snapshots.get(job.id, desc=True, limit=1)]
    deleted = {1: 1, 2: snapshot // 2, 3: snapshot}[before]
    log = RawLog(app.settings, app)
    with restoring(log, str(job.id)):
        log.delete(str(job.id), deleted)
        other = Registrations(app.settings)  # another process: it never counted this job
        try:
            for version in (None, snapshot + 1):
                with pytest.raises(VersionsSkipped) as raised:
                    other.repository.get(job.id, version=version, projector_func=fold_events)
                assert isinstance(raised.value, EventsMissingBeforeSnapshot)
                assert (raised.value.stored, raised.value.version) == (snapshot - 1, snapshot)
                assert str(job.id) in str(raised.value) and "out of sequence" in str(raised.value)
        finally:
            other.close()
        app.take_snapshot(job.id)  # this process counted the earlier snapshot: the next one
        with pytest.raises(EventsMissingBeforeSnapshot):
            app.repository.get(job.id, projector_func=fold_events)
    assert state(app.job(job.id)) == state(app.repository.get(job.id, projector_func=fold_events))


def test_a_snapshot_is_counted_once_a_process(
    app: Registrations, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The count reads the job's whole index: a sixth of an edit at 2,000 events."""
    app.snapshot_every = 4
    job = long_job(app, 9)
    app.job(job.id)
    counts: list[Any] = []
    recorder: Any = app.recorder
    if app.settings.is_postgres:
        read = recorder.select_rows_after_snapshot
        monkeypatch.setattr(
            recorder,
            "select_rows_after_snapshot",
            lambda *a: (found := read(*a)) and counts.append(found[2]) or found,
        )
    else:
        count = recorder.count_events
        monkeypatch.setattr(recorder, "count_events", lambda *a: counts.append(a) or count(*a))
    for _ in range(3):
        app.job(job.id)
    assert [c for c in counts if c is not None] == []
