"""Building scratch views in bulk: deferred job rows, shares of the aggregates, keys kept."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from domain.job import RegistrationJob
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.database import Database
from projections.job_view import JobProgressView
from projections.offline.build import BuildFailed, Helper
from projections.offline.diff import read_rows
from projections.offline.rebuild import rebuild_all
from projections.offline.shares import Share, build_share
from projections.schema import VIEW_NAMES, Schema
from tests.conftest import unique_org
from tests.integration.test_projections import drive, new_batch, views_of
from tests.kit import until


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings)
    yield database
    database.close()


@pytest.fixture
def scratch(db: Database) -> Iterator[Schema]:
    schema = Schema(f"regflow_b{uuid.uuid4().hex[:8]}_")
    schema.create(db, indexed=False)
    yield schema
    schema.drop(db)


def interleaved_jobs(app: Registrations, size: int) -> tuple[list[str], list[Any]]:
    """Jobs of one batch driven one after another, and their events in log order."""
    start = int(app.recorder.max_notification_id() or 0)
    batch_id, jobs = new_batch(app, unique_org(), size)
    app.start_step6(None, batch_id, None, "user:u-1")
    for index, job_id in enumerate(jobs):
        drive(app, job_id, fail="menuImport" if index == 1 else None)
    notifications = app.recorder.select_notifications(start, 10_000, inclusive_of_start=False)
    return jobs, [app.mapper.to_domain_event(n) for n in notifications]


def loader(app: Registrations) -> Any:
    def load(job_id: UUID, version: int) -> RegistrationJob:
        job = app.repository.get(job_id, version=version)
        assert isinstance(job, RegistrationJob)
        return job

    return load


def apply_in_chunks(view: Any, db: Database, schema: Schema, events: list[Any], size: int) -> None:
    conn = db.connect()
    try:
        for index in range(0, len(events), size):
            with db.transaction(conn) as cur:
                view.apply(db, cur, schema, events[index : index + size])
        with db.transaction(conn) as cur:
            view.flush(db, cur, schema)
    finally:
        conn.close()


@pytest.mark.parametrize("chunk", [7, 10_000])
def test_a_deferred_view_whose_cache_overflows_writes_every_jobs_last_state(
    app, db, scratch, chunk
) -> None:
    jobs, events = interleaved_jobs(app, 5)
    view = JobProgressView(loader(app), cache_size=2, deferred=True)
    apply_in_chunks(view, db, scratch, events, size=chunk)
    rows = read_rows(db, scratch, "job_progress")
    assert sorted(rows) == sorted(jobs)
    for job_id in jobs:
        job = app.job(job_id)
        assert (rows[job_id]["version"], rows[job_id]["status"]) == (job.version, job.status)


def test_a_deferred_view_writes_nothing_for_jobs_until_flushed(app, db, scratch) -> None:
    _, events = interleaved_jobs(app, 2)
    view = JobProgressView(loader(app), deferred=True)
    conn = db.connect()
    try:
        with db.transaction(conn) as cur:
            view.apply(db, cur, scratch, events)
        assert read_rows(db, scratch, "job_progress") == {}
    finally:
        conn.close()


def every_row(db: Database, schema: Schema) -> dict[str, Any]:
    return {v: read_rows(db, schema, v) for v in VIEW_NAMES}


def timeline_count(db: Database, schema: Schema) -> int:
    return int(db.fetch(f"SELECT COUNT(*) AS n FROM {schema.timeline}")[0]["n"])


@pytest.fixture
def whole(app, db, scratch) -> tuple[int, dict[str, Any]]:
    """A log holding a few interleaved jobs, and its rows built by one process alone."""
    interleaved_jobs(app, 6)
    stop = int(app.recorder.max_notification_id() or 0)
    build_share(app, db, scratch, stop)
    return stop, every_row(db, scratch)


@pytest.mark.parametrize("joined", [0.0, 0.5, 0.97])
def test_shares_dealt_at_any_position_hold_every_row_once(app, db, whole, joined) -> None:
    stop, expected = whole
    split = int(stop * joined)
    schema = Schema(f"regflow_b{uuid.uuid4().hex[:8]}_")
    schema.create(db, indexed=False)
    try:
        for index in range(3):
            share = Share(index, 3, split)
            build_share(app, db, schema, stop, share, start=split if index else 0)
        assert every_row(db, schema) == expected
        assert timeline_count(db, schema) == len(expected["job_timeline"])
    finally:
        schema.drop(db)


def test_a_helper_process_builds_the_share_it_is_dealt(settings, app, db, whole) -> None:
    stop, expected = whole
    split = stop // 2
    schema = Schema(f"regflow_b{uuid.uuid4().hex[:8]}_")
    schema.create(db, indexed=False)
    helper = Helper(settings, schema, stop, 1, 2)
    try:
        assert until(helper.ready, timeout=60)
        helper.start_after(split)
        build_share(app, db, schema, stop, Share(0, 2, split))
        helper.finish()
        assert every_row(db, schema) == expected
        assert timeline_count(db, schema) == len(expected["job_timeline"])
    finally:
        helper.close()
        schema.drop(db)


def test_a_failing_helper_fails_the_build(settings, app) -> None:
    jobs, _ = interleaved_jobs(app, 4)
    while not any(UUID(job).int % 2 for job in jobs):  # the helper of two is dealt odd ids
        jobs, _ = interleaved_jobs(app, 4)
    missing = Schema(f"regflow_b{uuid.uuid4().hex[:8]}_")  # no tables: its writes fail
    helper = Helper(settings, missing, int(app.recorder.max_notification_id() or 0), 1, 2)
    try:
        assert until(helper.ready, timeout=60)
        helper.start_after(0)
        with pytest.raises(BuildFailed, match="build process 1 failed"):
            helper.finish()
    finally:
        helper.close()


def test_a_helper_that_dies_fails_the_build(settings, app) -> None:
    helper = Helper(settings, Schema.scratch(), 1, 1, 2)
    try:
        assert until(helper.ready, timeout=60)
        helper._process.kill()
        with pytest.raises(BuildFailed, match="died"):
            helper.finish()
    finally:
        helper.close()


def test_a_rebuilt_timeline_keeps_its_key_and_the_live_indexes(settings, app) -> None:
    batch_id, jobs = new_batch(app, unique_org(), 1)
    app.start_step6(None, batch_id, None, "user:u-1")
    with views_of(settings, app) as views:
        rebuild_all(settings, app, schema=views.schema)
        conn = views.db.connect()
        try:
            duplicate = views.db.sql(
                f"INSERT INTO {views.schema.timeline} SELECT * FROM {views.schema.timeline}"
                " WHERE job_id = ?"
            )
            with (
                pytest.raises(Exception, match="(?i)unique|duplicate"),
                views.db.transaction(conn) as cur,
            ):
                cur.execute(duplicate, (jobs[0],))
        finally:
            conn.close()
        assert index_names(views.db, views.schema) >= {
            f"{views.schema.prefix}{name}"
            for name in (
                "job_progress_batch",
                "job_progress_status",
                "batch_summaries_org",
                "job_timeline_key",
            )
        }


def index_names(db: Database, schema: Schema) -> set[str]:
    if db.is_postgres:
        rows = db.fetch(
            "SELECT indexname AS name FROM pg_indexes WHERE indexname LIKE ?",
            (schema.prefix + "%",),
        )
    else:
        rows = db.fetch(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE ?",
            (schema.prefix + "%",),
        )
    return {r["name"] for r in rows}


def test_readers_never_miss_a_row_while_the_views_are_swapped(settings, app) -> None:
    jobs, _ = interleaved_jobs(app, 3)
    with views_of(settings, app) as views:
        views.catch_up()
        seen: list[Any] = []
        stopping = threading.Event()

        def read() -> None:
            while not stopping.is_set():
                try:
                    row = views.job_progress(jobs[0])
                    seen.append(row["version"] if row else None)
                    seen.append(len(views.timeline(jobs[0], limit=1000)))
                except Exception as exc:  # any failed read is the defect under test
                    seen.append(exc)

        reader = threading.Thread(target=read)
        reader.start()
        try:
            for _ in range(10):
                rebuild_all(settings, app, schema=views.schema)
        finally:
            stopping.set()
            reader.join(30)
        version = app.job(jobs[0]).version
        assert seen and set(seen) == {version}
