"""Views built by another release's folds: those of an older (or unknown) fold are rebuilt from
the log when the views start, then equal a rebuild; those of a newer fold are left alone by an
older process, which says why instead of writing over them."""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import closing

import pytest

from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.catalogue import fold_versions
from projections.fold_versions import ViewsRefused
from projections.job_view import JobProgressView
from projections.live.service import ReadModelService
from projections.offline.rebuild import rebuild_views, rebuilder, verify
from projections.views import TimelineView
from tests.conftest import store_settings
from tests.integration.audit_kit import Cli, cli
from tests.integration.fold_kit import (
    LIVE,
    head,
    opened,
    own_store,
    positions,
    run_sql,
    store_versions,
    stored,
)
from tests.integration.test_projections_rebuild import every_kind_of_change
from tests.kit import until

__all__ = ["cli"]
CURRENT = JobProgressView.fold_version
TIMELINE = TimelineView.fold_version
REBUILDING = "rebuilding it from the log"


@pytest.fixture
def settings(database_url: str) -> Iterator[Settings]:
    """A store of the test's own: these tests change what every process of a store reads."""
    with own_store(database_url) as url:
        yield store_settings(url, worker_id=f"test-worker-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def built(settings: Settings, app: Registrations) -> list[str]:
    """Jobs of every kind of change, and the views built from them by this release."""
    jobs = every_kind_of_change(app)
    with closing(opened(settings, app)) as views:
        views.catch_up()
    return jobs


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="regflow.projections")
    return caplog


def rebuilt(logs: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in logs.records if REBUILDING in r.getMessage()]


def garble_job_rows(settings: Settings) -> None:
    """Rows as another fold would have left them: they differ from a rebuild."""
    run_sql(settings, f"UPDATE {LIVE.jobs} SET counts = '{{}}', current_phase = 'phase0'")


def test_a_view_of_an_older_fold_is_rebuilt_when_the_views_start(
    settings, app, built, logs
) -> None:
    garble_job_rows(settings)
    store_versions(settings, job_progress=CURRENT - 1)
    assert verify(settings, app) != []
    app.resume(None, built[2], "user:u-2")  # an event for the runner to apply after the rebuild
    with closing(opened(settings, app)) as views:
        views.start()
        assert until(lambda: stored(settings) == fold_versions(), timeout=120)
        views.catch_up()
    assert verify(settings, app) == []
    events = len(app.recorder.select_notifications(start=0, limit=10**6))
    versions = f"fold version {CURRENT - 1} -> {CURRENT}"
    assert rebuilt(logs) == [f"view job_progress: {REBUILDING}, {versions} ({events} events)"]


def test_a_release_that_bumps_one_fold_rebuilds_that_view_alone(
    settings, app, built, logs, monkeypatch
) -> None:
    garble_job_rows(settings)
    kept = f"UPDATE {LIVE.timeline} SET description = 'kept' WHERE job_id = ?"
    run_sql(settings, kept, (built[0],))
    monkeypatch.setattr(JobProgressView, "fold_version", CURRENT + 1)
    with closing(opened(settings, app)) as views:
        views.catch_up()  # as a command of the CLI runs the views: in this thread
    assert stored(settings) == fold_versions() | {"job_progress": CURRENT + 1}
    left = {(d.view, d.field, d.live) for d in verify(settings, app)}
    assert left == {("job_timeline", "description", "kept")}
    assert len(rebuilt(logs)) == 1


def test_views_recorded_without_a_version_are_rebuilt_once(settings, app, built, logs) -> None:
    store_versions(settings, job_progress=None, batch_summaries=None, job_timeline=None)
    with closing(opened(settings, app)) as views:
        views.catch_up()
    assert stored(settings) == fold_versions()
    assert sorted(m.split(":")[0] for m in rebuilt(logs)) == [
        "view batch_summaries",
        "view job_progress",
        "view job_timeline",
    ]
    assert "fold version unknown -> " in rebuilt(logs)[0]
    garble_job_rows(settings)  # built by this release now: a start leaves them be
    with closing(opened(settings, app)) as views:
        views.catch_up()
    assert {d.view for d in verify(settings, app)} == {"job_progress"}
    assert len(rebuilt(logs)) == 3


def test_tracking_made_before_versions_were_kept_is_upgraded_in_place(settings, app, built) -> None:
    run_sql(settings, f"ALTER TABLE {LIVE.tracking} DROP COLUMN fold_version")
    before = positions(settings)
    with closing(ReadModelService(settings, app)) as views:  # only opened: nothing runs yet
        assert (positions(settings), stored(settings)) == (before, dict.fromkeys(before))
        with pytest.raises(ViewsRefused, match="cannot rebuild them"):
            views.catch_up()  # a process that cannot rebuild leaves them be
    with closing(opened(settings, app)) as views:
        views.catch_up()
    assert stored(settings) == fold_versions()
    assert verify(settings, app) == []


def test_an_older_process_refuses_views_of_a_newer_fold_and_leaves_them_to_it(
    settings, app, built, logs, monkeypatch
) -> None:
    store_versions(settings, job_progress=CURRENT + 1)
    app.resume(None, built[2], "user:u-2")
    before = positions(settings)
    with closing(opened(settings, app)) as older:
        older.start()
        assert until(lambda: older.fold_problems())
        assert "newer release's folds: job_progress (fold version" in older.fold_problems()[0]
        with closing(opened(settings, app)) as command, pytest.raises(ViewsRefused):
            command.catch_up()  # as a command of the CLI runs the views
        assert (positions(settings), stored(settings)["job_progress"]) == (before, CURRENT + 1)
        monkeypatch.setattr(JobProgressView, "fold_version", CURRENT + 1)
        with closing(opened(settings, app)) as newer:
            newer.catch_up(60)  # the older process gave the views' lock back
        assert min(positions(settings).values()) == head(app)
    errors = [r for r in logs.records if r.levelno == logging.ERROR]
    assert len(errors) == 1 and "not run in this process" in errors[0].getMessage()


def test_a_running_older_process_stops_writing_once_a_newer_release_rebuilt_the_views(
    settings, app, built, monkeypatch
) -> None:
    with closing(opened(settings, app)) as older:
        older.start()
        older.catch_up()
        with monkeypatch.context() as newer:
            newer.setattr(JobProgressView, "fold_version", CURRENT + 1)
            position = rebuild_views(settings, app, ["job_progress"])
        app.resume(None, built[2], "user:u-2")  # the older process must not apply it
        assert until(lambda: older.runners[0].folds.refused is not None)
        assert positions(settings)["job_progress"] == position < head(app)
        assert stored(settings)["job_progress"] == CURRENT + 1


# PostgreSQL only: on one SQLite file, two processes' runners exclude each other by tracking.
@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_two_processes_starting_at_once_rebuild_once_and_end_equal(
    settings: Settings, built: list[str], request: pytest.FixtureRequest
) -> None:
    """Each opens its own store and views; the first to take the views' lock rebuilds them
    while the other stands by (the rebuild waits for it to), and the other, when it takes over,
    finds them built by its folds."""
    store_versions(settings, job_progress=None, job_timeline=TIMELINE - 1)
    calls: list[list[str]] = []
    services: list[ReadModelService] = []
    stood_by = threading.Event()

    def counted(app: Registrations):
        rebuild = rebuilder(settings, app)

        def rebuild_when_the_other_stands_by(schema, names):
            calls.append(list(names))
            stood_by.wait(60)
            return rebuild(schema, names)

        return rebuild_when_the_other_stands_by

    for _ in range(2):
        app = Registrations(settings)
        request.addfinalizer(app.close)
        service = ReadModelService(settings, app, rebuild=counted(app))
        request.addfinalizer(service.stop)
        services.append(service)
    for service in services:
        service.start()
    assert until(lambda: any(s.supervisors[0].standby for s in services))
    stood_by.set()
    assert until(lambda: any(s.supervisors[0].active for s in services), timeout=120)
    holder = next(s for s in services if s.supervisors[0].active)
    other = next(s for s in services if s is not holder)
    holder.stop()
    assert until(lambda: other.supervisors[0].active)
    other.catch_up()
    assert calls == [["job_progress", "job_timeline"]]
    assert verify(settings, other.app) == []


class TestTheCommandLine:
    def test_rebuild_projections_records_the_versions_it_built_with(
        self, cli: Cli, settings, built
    ) -> None:
        store_versions(settings, job_progress=None, job_timeline=TIMELINE - 1)
        run = cli("rebuild-projections", "--json")
        assert run.code == 0 and run.lines()[0]["fold_versions"] == fold_versions()
        assert stored(settings) == fold_versions()

    def test_rebuild_projections_leaves_views_of_a_newer_fold_alone_unless_downgrading(
        self, cli: Cli, settings, app, built
    ) -> None:
        store_versions(settings, job_progress=CURRENT + 1)
        garble_job_rows(settings)
        run = cli("rebuild-projections")
        assert run.code == 2 and "newer release's folds: job_progress" in run.err
        assert "--downgrade" in run.err
        assert stored(settings)["job_progress"] == CURRENT + 1 and verify(settings, app) != []
        assert cli("rebuild-projections", "--downgrade").code == 0
        assert stored(settings) == fold_versions() and verify(settings, app) == []

    def test_a_command_that_reads_the_views_rebuilds_those_of_an_older_fold_first(
        self, cli: Cli, settings, app, built
    ) -> None:
        store_versions(settings, batch_summaries=None)
        garble_job_rows(settings)  # this release's rows, wrong: left as they are
        assert cli("batches", "--all", "--json").code == 0
        assert stored(settings) == fold_versions()
        assert {d.view for d in verify(settings, app)} == {"job_progress"}

    def test_a_command_of_an_older_release_refuses_views_of_a_newer_fold(
        self, cli: Cli, settings, built
    ) -> None:
        store_versions(settings, job_timeline=TIMELINE + 1)
        run = cli("batches", "--all")
        assert run.code == 2 and "newer release's folds: job_timeline" in run.err
