"""The read models on SQLite and PostgreSQL: each view is the fold of the log; read-your-writes."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from infrastructure.engine.work_source import LogWorkSource
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.database import Database
from projections.folds.jobs import document_of
from projections.live.service import ReadModelService
from projections.schema import Schema
from tests.conftest import unique_org

CONFIG: dict[str, Any] = {"account": {"email": "o@buzz.example", "password": "pw-123"}}


def new_batch(
    app: Registrations, org: str, size: int, name: str = "Week 48"
) -> tuple[str, list[str]]:
    restaurants = [
        {"name": f"R{i}", "external_id": f"r-{i}", "execution_config": CONFIG} for i in range(size)
    ]
    batch, jobs, _ = app.create_batch(org, "user:u-1", name, restaurants)
    return str(batch.id), [str(j.id) for j in jobs]


def drive(app: Registrations, job_id: str, fail: str | None = None) -> str:
    """Run a started job to its end through the aggregate's commands, storing as the engine does."""
    job = app.job(job_id)
    job.claim("worker-1")
    app.store(job)
    while job.runnable():
        for key in job.runnable():
            job.start_sub_step(key)
            if key == fail:
                job.fail_sub_step(key, "HTTP 400: bad request", transient=False)
            else:
                job.complete_sub_step(key, {"id": f"{key}-1", "token": "secret"})
        app.store(job)
    job.finish()
    app.store(job)
    return str(job.status)


@contextmanager
def views_of(
    settings: Settings, app: Registrations, start: bool = False
) -> Iterator[ReadModelService]:
    """A service on tables of its own (tests share a database), dropped afterwards."""
    schema = Schema(f"regflow_t{uuid.uuid4().hex[:8]}_")
    service = ReadModelService(settings, app, schema)
    if start:
        service.start()
    try:
        yield service
    finally:
        service.stop()
        schema.drop(Database(settings))


@pytest.fixture
def views(settings: Settings, app: Registrations) -> Iterator[ReadModelService]:
    with views_of(settings, app) as service:
        yield service


def assert_exact(service: ReadModelService, app: Registrations, job_ids: list[str]) -> None:
    """Every job's row and timeline reflect each of its events once, as the aggregate says."""
    for job_id in job_ids:
        job = app.job(job_id)
        row = service.job_progress(job_id)
        assert row is not None, job_id
        assert (row["version"], row["status"]) == (job.version, job.status)
        assert row["sub_step_progress"] == document_of(job)
        versions = [e["version"] for e in service.timeline(job_id, limit=10_000)]
        assert versions == list(range(1, job.version + 1))


class TestViews:
    def test_job_progress_is_the_fold_of_the_jobs_events(self, app, views) -> None:
        batch_id, jobs = new_batch(app, unique_org(), 2)
        app.start_step6(None, batch_id, None, "user:u-1")
        drive(app, jobs[0], fail="websiteConfig")
        views.catch_up()
        assert_exact(views, app, jobs)
        row = views.job_progress(jobs[0])
        assert row["restaurant"] == {"name": "R0", "external_id": "r-0"}
        assert row["last_error"] == "websiteConfig: HTTP 400: bad request"
        assert "secret" not in str(row) and "pw-123" not in str(row)

    def test_batch_counters_follow_the_jobs(self, app, views) -> None:
        batch_id, jobs = new_batch(app, unique_org(), 4)
        app.start_step6(None, batch_id, jobs[:3], "user:u-1")
        drive(app, jobs[0]), drive(app, jobs[1], fail="restaurantRegistration")
        views.catch_up()
        summary = views.batch_summary(batch_id)
        counts = {k: summary[k] for k in ("total", "completed", "failed", "in_progress", "pending")}
        assert counts == {"total": 4, "completed": 1, "failed": 1, "in_progress": 1, "pending": 1}
        assert (summary["percent"], summary["status"]) == (50, "in_progress")
        assert [j["id"] for j in views.job_summaries(batch_id)] == jobs

    def test_list_batches_shows_one_organisations_batches_newest_first(self, app, views) -> None:
        org = unique_org()
        first, _ = new_batch(app, org, 1, "first")
        second, _ = new_batch(app, org, 1, "second")
        new_batch(app, unique_org(), 1, "someone else's")
        views.catch_up()
        assert [b["id"] for b in views.list_batches(org)] == [second, first]
        assert [b["id"] for b in views.list_batches(org, limit=1, offset=1)] == [first]

    def test_the_timeline_pages_after_a_version(self, app, views) -> None:
        batch_id, jobs = new_batch(app, unique_org(), 1)
        app.start_step6(None, batch_id, None, "user:u-1")
        views.catch_up()
        page = views.timeline(jobs[0], after_version=1, limit=2)
        assert [(e["version"], e["type"]) for e in page] == [
            (2, "Step6Started"),
            (3, "SubStepSkipped"),
        ]
        assert page[0]["actor"] == "user:u-1"

    def test_runnable_jobs_are_those_in_progress(self, app) -> None:
        batch_id, jobs = new_batch(app, unique_org(), 3)
        app.start_step6(None, batch_id, jobs[:2], "user:u-1")
        drive(app, jobs[0])
        runnable = LogWorkSource(app).runnable_job_ids(10_000)
        assert jobs[1] in runnable and jobs[0] not in runnable and jobs[2] not in runnable

    def test_a_nul_character_from_the_registration_api_does_not_stall_the_views(
        self, app, views
    ) -> None:
        batch_id, jobs = new_batch(app, unique_org(), 2)
        app.start_step6(None, batch_id, None, "user:u-1")
        job = app.job(jobs[0])
        job.claim("worker-1")
        job.start_sub_step("codeGeneration")
        job.fail_sub_step("codeGeneration", "HTTP 400: bad\x00byte", transient=False)
        app.store(job)
        drive(app, jobs[1])
        views.catch_up()
        assert (
            views.job_progress(jobs[0])["last_error"] == "codeGeneration: HTTP 400: bad\ufffdbyte"
        )
        assert views.job_progress(jobs[1])["status"] == "completed"

    def test_unknown_ids_answer_none(self, views) -> None:
        missing = str(uuid.uuid4())
        assert views.job_progress(missing) is None and views.batch_summary(missing) is None
        assert views.timeline(missing) == [] and views.job_summaries(missing) == []


class TestReadYourWrites:
    def test_a_query_after_a_command_reflects_it(self, settings, app) -> None:
        batch_id, jobs = new_batch(app, unique_org(), 1)
        app.start_step6(None, batch_id, None, "user:u-1")
        drive(app, jobs[0], fail="codeGeneration")
        with views_of(settings, app, start=True) as views:
            # New tables on a database every test shares: let them fold the log there is
            # first, so the wait below measures the command alone.
            assert views.wait_for(app.recorder.max_notification_id() or 0, timeout=300)
            outcome = app.edit(
                None, jobs[0], [("codeGeneration", "skipped", None)], "user:u-2", "n/a"
            )
            assert views.wait_for(outcome.position, timeout=10)
            progress = views.job_progress(jobs[0])["sub_step_progress"]
            assert (
                progress["phases"]["phase1"]["sub_steps"]["codeGeneration"]["status"] == "skipped"
            )
            assert views.lag() == {"job_progress": 0, "batch_summaries": 0, "job_timeline": 0}

    def test_lag_is_the_distance_to_the_head(self, app, views) -> None:
        views.catch_up()
        new_batch(app, unique_org(), 1)
        assert set(views.lag().values()) == {2}
