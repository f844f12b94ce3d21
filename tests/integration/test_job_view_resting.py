"""The live job view's cache holds jobs at work only: a job that completes, fails or is
cancelled leaves it, and is folded again from the log if it ever changes (resumed, edited)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.exceptions import RegflowError
from domain.plan import PLAN
from domain.status import FINAL_JOB_STATUSES
from infrastructure.usecases.registrations import Registrations
from projections.database import Database
from projections.job_view import LIVE_JOB_CACHE_SIZE, JobProgressView
from projections.offline.diff import read_rows
from projections.schema import Schema
from tests.conftest import unique_org
from tests.integration.test_projections import drive, new_batch
from tests.integration.test_projections_build import db, loader

__all__ = ["db"]


@pytest.fixture
def schemas(db: Database) -> Iterator[tuple[Schema, Schema]]:
    """Tables for the view under test and for the rows of never-evicted folds."""
    made = [Schema(f"regflow_r{uuid.uuid4().hex[:8]}_") for _ in range(2)]
    for schema in made:
        schema.create(db, indexed=False)
    yield made[0], made[1]
    for schema in made:
        schema.drop(db)


def events_since(app: Registrations, start: int) -> list[Any]:
    notifications = app.recorder.select_notifications(start, 100_000, inclusive_of_start=False)
    return [app.mapper.to_domain_event(n) for n in notifications]


def position(app: Registrations) -> int:
    return int(app.recorder.max_notification_id() or 0)


def apply(view: JobProgressView, db: Database, schema: Schema, events: list[Any]) -> None:
    conn = db.connect()
    try:
        with db.transaction(conn) as cur:
            view.apply(db, cur, schema, events)
    finally:
        conn.close()


def folded_rows(
    app: Registrations, db: Database, schema: Schema, jobs: list[str]
) -> dict[str, Any]:
    """The rows of the jobs as one fold of each job's whole log writes them."""
    whole = JobProgressView(loader(app))
    # Loaded before the view's transaction opens: on SQLite the views share the store's file,
    # and a long job's load stores a snapshot, which would wait out the lock this holds.
    loaded = [app.job(job_id) for job_id in jobs]
    conn = db.connect()
    try:
        with db.transaction(conn) as cur:
            whole._write(db, cur, schema, loaded)
    finally:
        conn.close()
    return rows_of(db, schema, jobs)


def rows_of(db: Database, schema: Schema, jobs: list[str]) -> dict[str, Any]:
    rows = read_rows(db, schema, "job_progress")
    return {job_id: rows.get(job_id) for job_id in jobs}


def test_jobs_that_settle_leave_the_cache_and_jobs_at_work_stay(app, db, schemas) -> None:
    start = position(app)
    batch_id, jobs = new_batch(app, unique_org(), 6)
    app.start_step6(None, batch_id, None, "user:u-1")
    drive(app, jobs[0]), drive(app, jobs[1], fail="menuImport"), drive(app, jobs[2])
    app.cancel(None, jobs[3], "user:u-1", "not needed")
    at_work = app.job(jobs[4])
    at_work.claim("worker-1")
    app.store(at_work)
    view = JobProgressView(loader(app), LIVE_JOB_CACHE_SIZE)
    events = events_since(app, start)
    for index in range(0, len(events), 7):
        apply(view, db, schemas[0], events[index : index + 7])
    assert [UUID(j) in view for j in jobs] == [False, False, False, False, True, True]
    assert len(view) == 2
    assert rows_of(db, schemas[0], jobs) == folded_rows(app, db, schemas[1], jobs)


def test_many_settled_jobs_leave_nothing_behind(app, db, schemas) -> None:
    start = position(app)
    batch_id, jobs = new_batch(app, unique_org(), 40)
    app.start_step6(None, batch_id, None, "user:u-1")
    for job_id in jobs:
        drive(app, job_id)
    view = JobProgressView(loader(app), LIVE_JOB_CACHE_SIZE)
    apply(view, db, schemas[0], events_since(app, start))
    assert len(view) == 0


Step = tuple[str, int, str]
STEPS = st.lists(
    st.tuples(
        st.sampled_from(["drive", "fail", "cancel", "resume", "edit", "apply", "forget"]),
        st.integers(0, 1),
        st.sampled_from(PLAN.keys),
    ),
    max_size=14,
)


def act(app: Registrations, job_id: str, what: str, key: str) -> None:
    try:
        if what in ("drive", "fail") and app.job(job_id).status == "in_progress":
            drive(app, job_id, fail=key if what == "fail" else None)
        elif what == "cancel":
            app.cancel(None, job_id, "user:u-1", "stop")
        elif what == "resume":
            app.resume(None, job_id, "user:u-1", "again")
        elif what == "edit":
            target = "pending" if app.job(job_id).sub_steps[key].status != "pending" else "skipped"
            app.edit(None, job_id, [(key, target, None)], "user:u-1", "fix")
    except RegflowError:
        pass


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=STEPS, cache_size=st.sampled_from([1, LIVE_JOB_CACHE_SIZE]))
def test_jobs_folded_again_after_leaving_the_cache_write_the_rows_of_one_fold(
    app, db, schemas, steps: list[Step], cache_size: int
) -> None:
    """Commands on two jobs in any order, the view applying what was stored at random points:
    the rows equal those of folding each job's whole log at once, and the cache holds no job
    at rest."""
    view = JobProgressView(loader(app), cache_size)
    start = position(app)
    batch_id, jobs = new_batch(app, unique_org(), 2)
    app.start_step6(None, batch_id, None, "user:u-1")
    for what, index, key in [*steps, ("apply", 0, "")]:
        if what == "apply":
            apply(view, db, schemas[0], events_since(app, start))
            start = position(app)
        elif what == "forget":
            view.forget()
        else:
            act(app, jobs[index], what, key)
    assert rows_of(db, schemas[0], jobs) == folded_rows(app, db, schemas[1], jobs)
    for job_id in jobs:
        if app.job(job_id).status in FINAL_JOB_STATUSES:
            assert UUID(job_id) not in view


def test_a_bulk_edit_of_a_settled_job_loads_it_once_a_run(app, db, schemas) -> None:
    """An operator's bulk edit of a failed job: a hundred events of a job that stays failed.
    The view loaded the job again for each (replaying its whole log when the views were behind
    its latest snapshot), and fell behind the log for every job; now once a run."""
    batch_id, jobs = new_batch(app, unique_org(), 1)
    app.start_step6(None, batch_id, None, "user:u-1")
    drive(app, jobs[0], fail="servicesConfig")
    assert app.job(jobs[0]).status == "failed"
    start = position(app)
    flips = [("websiteConfig", status, None) for status in ("skipped", "pending") * 50]
    app.edit(None, jobs[0], flips, "user:u-1", "bulk")
    loads: list[int] = []
    load = loader(app)

    def counted(job_id: UUID, version: int) -> Any:
        loads.append(version)
        return load(job_id, version)

    view = JobProgressView(counted, LIVE_JOB_CACHE_SIZE)
    events = events_since(app, start)
    assert len(events) >= 100
    apply(view, db, schemas[0], events)
    assert len(loads) == 1
    assert UUID(jobs[0]) not in view, "a settled job leaves the cache when its run ends"
    assert rows_of(db, schemas[0], jobs) == folded_rows(app, db, schemas[1], jobs)
