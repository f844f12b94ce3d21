"""Views made by an older release (a table without a column this release writes, or a table
gone) are made again and filled from the log when the views are opened: before, the runner
wrote nothing to them without a word, and reads failed with the database's error."""

from __future__ import annotations

import pytest

from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.database import Database
from projections.live.service import ReadModelService
from projections.offline.rebuild import verify
from projections.schema import Schema
from tests.conftest import unique_org
from tests.kit import restaurants


def older(settings: Settings, statement: str) -> None:
    db = Database(settings)
    conn = db.connect()
    try:
        with db.transaction(conn) as cur:
            cur.execute(statement)
    finally:
        conn.close()
        db.close()


def positions(settings: Settings) -> dict[str, int]:
    db = Database(settings)
    try:
        return Schema().positions(db)
    finally:
        db.close()


@pytest.mark.parametrize(
    "made_older",
    [
        "ALTER TABLE regflow_batch_summaries DROP COLUMN started",
        "ALTER TABLE regflow_job_progress DROP COLUMN counts",
        "ALTER TABLE regflow_job_timeline DROP COLUMN description",
        "DROP TABLE regflow_job_timeline",
    ],
)
def test_views_of_an_older_release_are_made_again_from_the_log(
    app: Registrations, settings: Settings, made_older: str
) -> None:
    org = unique_org()
    batch, jobs, _ = app.create_batch(org, "user:u", "b", restaurants(3))
    app.start_step6(org, batch.id, None, "user:u")
    with ReadModelService(settings, app) as views:
        views.catch_up(60)
        expected = {str(j.id): views.job_progress(str(j.id)) for j in jobs}
    older(settings, made_older)
    with ReadModelService(settings, app) as views:
        views.catch_up(60)
        assert {j: views.job_progress(j) for j in expected} == expected
        assert views.batch_summary(str(batch.id))["total"] == 3
        assert len(views.timeline(str(jobs[0].id))) == len(list(app.events.get(jobs[0].id)))
    assert verify(settings, app) == []


def test_views_of_this_release_are_kept(app: Registrations, settings: Settings) -> None:
    org = unique_org()
    batch, _, _ = app.create_batch(org, "user:u", "b", restaurants(1))
    with ReadModelService(settings, app) as views:
        views.catch_up(60)
    before = positions(settings)
    with ReadModelService(settings, app):
        assert positions(settings) == before
