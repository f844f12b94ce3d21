"""The use-case layer on real stores: SQLite and PostgreSQL, the same tests."""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import ConnectionUnavailableError, OperationalError

from domain.exceptions import (
    BatchNotFound,
    DependencyNotSatisfied,
    IllegalTransition,
    InvalidInput,
    JobNotFound,
)
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.unit.jobs import FULL_CONFIG

PASSWORD = "correct-horse-battery-staple-91"


def _restaurants(n: int = 2) -> list[dict[str, Any]]:
    config = {**FULL_CONFIG, "account": {"email": "o@buzz.example", "password": PASSWORD}}
    return [
        {"name": f"Buzz {i}", "external_id": f"r-{i}", "execution_config": config} for i in range(n)
    ]


def _batch(app: Registrations, org: str, n: int = 2):
    return app.create_batch(org, "user:u-1", "Auckland week 48", _restaurants(n))


class TestCreateBatch:
    def test_batch_and_jobs_are_stored_together(self, app: Registrations) -> None:
        org = unique_org()
        batch, jobs, saved = _batch(app, org)
        assert app.batch(batch.id, org).job_ids == [j.id for j in jobs]
        assert app.job(jobs[1].id, org).restaurant == {"name": "Buzz 1", "external_id": "r-1"}
        assert saved.position >= 3

    def test_invalid_restaurant_is_refused_with_its_field(self, app: Registrations) -> None:
        bad = [{"name": "", "execution_config": {"account": {"email": "nope"}}}]
        with pytest.raises(InvalidInput) as caught:
            app.create_batch(unique_org(), "user:u-1", "x", bad)
        assert any("restaurants[0].name" in e for e in caught.value.errors)
        # the config's error too, named where it is in the request
        assert any(
            e.startswith("restaurants[0].execution_config.account.email:")
            for e in caught.value.errors
        )

    @pytest.mark.parametrize(
        ("config", "field"),
        [
            ({"skip": ["noSuchStep"]}, "skip"),
            ({"skip": "menuImport"}, "skip"),
            ({"account": {"email": "nope"}}, "account.email"),
            ({"menu": {"menu_id": {"deep": 1}}}, "menu.menu_id"),
            ({"payment": "yes"}, "payment"),
        ],
    )
    def test_a_bad_config_field_is_named_by_its_path_in_the_request(
        self, app: Registrations, config: dict[str, object], field: str
    ) -> None:
        good = {"name": "Good", "execution_config": {}}
        bad = [good, good, {"name": "Bad", "execution_config": config}]
        with pytest.raises(InvalidInput) as caught:
            app.create_batch(unique_org(), "user:u-1", "x", bad)
        located = [e.split(": ", 1)[0] for e in caught.value.errors]
        assert f"restaurants[2].execution_config.{field}" in located, caught.value.errors

    def test_password_never_reaches_storage_in_plain_text(
        self, app: Registrations, settings: Settings
    ) -> None:
        _batch(app, unique_org())
        assert PASSWORD.encode() not in _raw_bytes(settings)


class TestOrganisationScope:
    def test_another_organisations_job_is_not_found(self, app: Registrations) -> None:
        _, jobs, _ = _batch(app, unique_org())
        with pytest.raises(JobNotFound):
            app.job(jobs[0].id, unique_org())

    def test_malformed_ids_are_not_found(self, app: Registrations) -> None:
        with pytest.raises(JobNotFound):
            app.job("not-a-uuid")
        with pytest.raises(BatchNotFound):
            app.batch("../etc")


class TestStartAndEdit:
    def test_start_selected_jobs_only(self, app: Registrations) -> None:
        org = unique_org()
        batch, jobs, _ = _batch(app, org, 3)
        outcome = app.start_step6(org, batch.id, [str(jobs[1].id)], "user:u-1")
        assert outcome.started == [str(jobs[1].id)]
        assert [app.job(j.id).status for j in jobs] == ["pending", "in_progress", "pending"]

    @pytest.mark.parametrize("chosen", [None, [1], [0, 2]])
    def test_a_start_is_requested_before_its_jobs_start_in_time_and_in_the_log(
        self, app: Registrations, chosen: list[int] | None
    ) -> None:
        """Each job's Step6Started was stamped before the batch's Step6StartRequested, which the
        log records first."""
        org = unique_org()
        batch, jobs, _ = _batch(app, org, 3)
        job_ids = None if chosen is None else [str(jobs[i].id) for i in chosen]
        app.start_step6(org, batch.id, job_ids, "user:u-1")
        requested = list(app.events.get(batch.id))[-1]
        assert type(requested).__name__ == "Step6StartRequested"
        asked = {str(j) for j in requested.job_ids}
        started = [list(app.events.get(j.id))[-1] for j in jobs if str(j.id) in asked]
        assert started and all(type(e).__name__ == "Step6Started" for e in started)
        assert len(started) == (3 if chosen is None else len(chosen))
        assert all(requested.timestamp <= e.timestamp for e in started)

    def test_jobs_of_another_batch_are_refused(self, app: Registrations) -> None:
        org = unique_org()
        batch, _, _ = _batch(app, org)
        _, others, _ = _batch(app, org)
        with pytest.raises(InvalidInput):
            app.start_step6(org, batch.id, [str(others[0].id)], "user:u-1")

    def test_refused_edit_is_recorded_and_changes_nothing(self, app: Registrations) -> None:
        org = unique_org()
        batch, jobs, _ = _batch(app, org, 1)
        app.start_step6(org, batch.id, None, "user:u-1")
        app.cancel(org, jobs[0].id, "user:u-1", "stop")
        before = app.job(jobs[0].id).statuses()
        with pytest.raises(DependencyNotSatisfied):
            app.edit(org, jobs[0].id, [("websiteConfig", "completed", None)], "user:u-2", "try")
        job = app.job(jobs[0].id)
        assert job.statuses() == before
        last = list(app.events.get(job.id))[-1]
        assert (type(last).__name__, last.actor) == ("EditRefused", "user:u-2")

    def test_dry_run_records_nothing(self, app: Registrations) -> None:
        org = unique_org()
        batch, jobs, _ = _batch(app, org, 1)
        app.start_step6(org, batch.id, None, "user:u-1")
        app.cancel(org, jobs[0].id, "user:u-1", "stop")
        version = app.job(jobs[0].id).version
        outcome = app.edit(
            org, jobs[0].id, [("codeGeneration", "skipped", None)], "user:u-1", "why", dry_run=True
        )
        assert outcome.dry_run and outcome.checks[0].valid
        assert app.job(jobs[0].id).version == version


class TestConcurrentWriters:
    def test_two_writers_one_wins_the_other_is_refused(
        self, app: Registrations, settings: Settings
    ) -> None:
        org = unique_org()
        batch, jobs, _ = _batch(app, org, 1)
        app.start_step6(org, batch.id, None, "user:u-1")
        second = Registrations(settings)
        barrier, outcomes = threading.Barrier(2), []

        def cancel(store: Registrations, who: str) -> None:
            loaded: list[int] = []

            def command(job: Any) -> None:
                if not loaded:
                    loaded.append(job.version)
                    barrier.wait(timeout=10)
                job.cancel(who, None)

            try:
                store.update_job(jobs[0].id, org, command)
                outcomes.append("won")
            except IllegalTransition:
                outcomes.append("refused")

        threads = [
            threading.Thread(target=cancel, args=(s, w)) for s, w in ((app, "a"), (second, "b"))
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=30)
        second.close()
        assert sorted(outcomes) == ["refused", "won"]
        names = [type(e).__name__ for e in app.events.get(jobs[0].id)]
        assert names.count("JobCancelled") == 1

    def test_a_command_whose_load_meets_a_transient_error_tries_it_again(
        self, app: Registrations
    ) -> None:
        """A pool that waited out its connections (another process held SQLite's one writer)
        failed an edit with 503 after one wait; the load is now tried again as a save is."""
        org = unique_org()
        batch, jobs, _ = _batch(app, org, 1)
        slept: list[float] = []
        app.storage_retry._sleep = slept.append  # type: ignore[attr-defined]
        real_job, calls = app.job, []

        def load_after_a_timeout(*args: Any) -> Any:
            calls.append(1)
            if len(calls) < 3:
                raise ConnectionUnavailableError("Timed out waiting for connection pool semaphore")
            return real_job(*args)

        app.job = load_after_a_timeout  # type: ignore[method-assign]
        outcome = app.edit(org, jobs[0].id, [("menuImport", "skipped", None)], "user:u-1", "r")
        assert str(outcome.checks[0].target) == "skipped"
        assert slept == [1.0, 2.0]

    def test_a_commit_lost_in_flight_is_not_stored_twice(self, app: Registrations) -> None:
        org = unique_org()
        batch, jobs, _ = _batch(app, org, 1)
        slept: list[float] = []
        app.storage_retry._sleep = slept.append  # type: ignore[attr-defined]
        real_save, calls = app.save_events, []

        def save_then_lose_the_answer(events: list[Any]) -> Any:
            calls.append(1)
            recordings = real_save(events)
            if len(calls) == 1:
                raise OperationalError("server closed the connection unexpectedly")
            return recordings

        app.save_events = save_then_lose_the_answer  # type: ignore[method-assign]
        app.start_step6(org, batch.id, None, "user:u-1")
        names = [type(e).__name__ for e in app.events.get(jobs[0].id)]
        assert names.count("Step6Started") == 1
        assert slept == [1.0]


def _raw_bytes(settings: Settings) -> bytes:
    """Every byte of every table of the store."""
    if not settings.is_postgres:
        with sqlite3.connect(settings.sqlite_path) as conn:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            rows = [row for t in tables for row in conn.execute(f'SELECT * FROM "{t}"')]
    else:
        with psycopg.connect(settings.database_url) as conn:
            tables = [
                r[0]
                for r in conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
            ]
            rows = [row for t in tables for row in conn.execute(f'SELECT * FROM "{t}"')]
    return b"".join(
        v if isinstance(v, bytes | bytearray | memoryview) else str(v).encode()
        for row in rows
        for v in row
    )
