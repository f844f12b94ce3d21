"""Rebuilding from the log gives the live views back; verify names every drift."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from infrastructure.settings import Settings
from infrastructure.usecases.registrations import LegacyEntry, Registrations
from projections.live.service import ReadModelService
from projections.offline import build, rebuild
from projections.offline.diff import Difference, read_rows
from projections.offline.rebuild import rebuild_all, verify
from projections.schema import VIEW_NAMES
from tests.conftest import unique_org
from tests.integration.test_projections import drive, new_batch, views_of

LEGACY = {
    "cloudwaitressAccount": {"status": "completed", "attempts": 1},
    "codeGeneration": {"status": "failed", "attempts": 3, "error": "ECONNRESET"},
}


@pytest.fixture
def views(settings: Settings, app: Registrations) -> Iterator[ReadModelService]:
    with views_of(settings, app) as service:
        yield service


def every_kind_of_change(app: Registrations) -> list[str]:
    """Jobs completed, failed, edited by hand, reset, resumed, cancelled and imported."""
    org = unique_org()
    batch_id, jobs = new_batch(app, org, 4)
    app.start_step6(None, batch_id, jobs[:3], "user:u-1")
    drive(app, jobs[0]), drive(app, jobs[1], fail="restaurantRegistration")
    app.edit(
        None, jobs[1], [("restaurantRegistration", "completed", {"id": "r"})], "user:u-2", "by hand"
    )
    app.edit(None, jobs[0], [("cloudwaitressAccount", "pending", None)], "user:u-2", "redo")
    app.resume(None, jobs[0], "user:u-2")
    app.cancel(None, jobs[2], "user:u-2", "wrong menu")
    entry = LegacyEntry(uuid.uuid4(), {"name": "Old"}, LEGACY, None)
    _, imported, _ = app.import_legacy(org, "legacy", [entry], "user:u-3")
    return [*jobs, str(imported[0].id)]


def snapshot(views: ReadModelService) -> dict[str, dict]:
    return {v: read_rows(views.db, views.schema, v) for v in VIEW_NAMES}


def test_a_rebuild_from_scratch_equals_the_live_views(settings, app, views) -> None:
    every_kind_of_change(app)
    views.catch_up()
    live = snapshot(views)
    steps: list[tuple[int, int]] = []
    rebuild_all(settings, app, lambda at, end: steps.append((at, end)), schema=views.schema)
    assert snapshot(views) == live
    assert steps[-1][0] == steps[-1][1] == max(views.positions().values())


def test_a_rebuild_on_two_processes_equals_the_live_views(
    settings, app, views, monkeypatch
) -> None:
    monkeypatch.setattr(build, "PARALLEL_FROM", 0)
    every_kind_of_change(app)
    views.catch_up()
    live = snapshot(views)
    rebuild_all(settings, app, schema=views.schema)
    assert snapshot(views) == live
    first = next(iter(live["job_progress"]))
    _tamper(views, f"DELETE FROM {views.schema.jobs} WHERE job_id = ?", first)
    assert {d.view for d in verify(settings, app, schema=views.schema)} == {"job_progress"}


def test_verify_finds_nothing_when_the_views_are_true(settings, app, views) -> None:
    jobs = every_kind_of_change(app)
    views.catch_up()
    assert verify(settings, app, schema=views.schema) == []
    assert verify(settings, app, job_id=jobs[1], schema=views.schema) == []


def test_verify_names_the_view_the_row_and_the_field_that_drifted(settings, app, views) -> None:
    jobs = every_kind_of_change(app)
    views.catch_up()
    _tamper(views, f"UPDATE {views.schema.jobs} SET status = 'completed' WHERE job_id = ?", jobs[1])
    _tamper(views, f"DELETE FROM {views.schema.timeline} WHERE job_id = ? AND version = 2", jobs[0])
    found = verify(settings, app, schema=views.schema)
    truth = str(app.job(jobs[1]).status)
    assert Difference("job_progress", jobs[1], "status", "completed", truth) in found
    assert Difference("job_timeline", f"{jobs[0]}#2", "<row>", False, True) in found
    assert len(found) == 2
    assert [d.field for d in verify(settings, app, job_id=jobs[1], schema=views.schema)] == [
        "status"
    ]


def test_a_rebuild_repairs_a_drift_and_running_views_carry_on(settings, app, views) -> None:
    jobs = every_kind_of_change(app)
    views.start()
    views.catch_up()
    _tamper(views, f"UPDATE {views.schema.jobs} SET counts = '{{}}' WHERE job_id = ?", jobs[0])
    rebuild_all(settings, app, schema=views.schema)
    app.resume(None, jobs[2], "user:u-2")
    assert views.wait_for(int(app.recorder.max_notification_id()), timeout=300)
    assert verify(settings, app, schema=views.schema) == []
    assert views.job_progress(jobs[2])["status"] == "in_progress"


def _tamper(views: ReadModelService, statement: str, key: str) -> None:
    conn = views.db.connect()
    try:
        with views.db.transaction(conn) as cur:
            cur.execute(views.db.sql(statement), (key,))
    finally:
        conn.close()


@pytest.mark.parametrize("under_lock", [rebuild.CATCH_UP_UNDER_LOCK, 0])
def test_a_rebuild_is_swapped_in_where_the_live_views_stand(
    settings, app, views, monkeypatch, under_lock
) -> None:
    """Writes that land while a rebuild reads the log, and that the live views apply, are in the
    tables swapped in: a read never finds the views gone back to where the rebuild began (a
    batch's counts fell until the live views caught up again). With no events allowed under
    the swap's lock, the rebuilt tables catch up a page at a time before it."""
    monkeypatch.setattr(rebuild, "CATCH_UP_UNDER_LOCK", under_lock)
    monkeypatch.setattr(rebuild, "CATCH_UP_PAGE", 3)
    jobs = every_kind_of_change(app)
    views.catch_up()
    live: list[dict[str, dict]] = []

    def meanwhile(at: int, end: int) -> None:
        if at == end and not live:  # the build has read the log up to `end`
            app.edit(None, jobs[1], [("websiteConfig", "skipped", None)], "user:u-2", "later")
            app.cancel(None, jobs[3], "user:u-2", "not needed")
            new_batch(app, unique_org(), 2)
            views.catch_up()
            live.append(snapshot(views))

    position = rebuild_all(settings, app, meanwhile, schema=views.schema)
    assert live and snapshot(views) == live[0]
    assert position == max(views.positions().values())
    views.catch_up()
    assert snapshot(views) == live[0]
