"""PostgreSQL faults: dropped connections, and one active runner per view across processes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.database import CONNECTION_NAME
from projections.live.service import ReadModelService
from tests.conftest import end_connections, store_settings, unique_org
from tests.integration.test_projections import assert_exact, drive, new_batch, views_of
from tests.kit import until

pytestmark = pytest.mark.postgres


@pytest.fixture
def pg_settings(pg_url: str) -> Settings:
    return store_settings(pg_url)


@pytest.fixture
def pg_app(pg_settings: Settings) -> Iterator[Registrations]:
    app = Registrations(pg_settings)
    yield app
    app.close()


def started_jobs(app: Registrations, size: int) -> list[str]:
    batch_id, jobs = new_batch(app, unique_org(), size)
    app.start_step6(None, batch_id, None, "user:u-1")
    return jobs


def head(app: Registrations) -> int:
    return int(app.recorder.max_notification_id() or 0)


def test_a_dropped_connection_stops_nothing_for_good(pg_url, pg_settings, pg_app) -> None:
    jobs = started_jobs(pg_app, 3)
    with views_of(pg_settings, pg_app, start=True) as views:
        assert views.wait_for(head(pg_app), timeout=300)
        assert end_connections(pg_url, CONNECTION_NAME) >= 3
        for job_id in jobs:
            drive(pg_app, job_id)
        assert views.wait_for(head(pg_app), timeout=300)
        assert all(s.restarts >= 1 for s in views.supervisors)
        assert_exact(views, pg_app, jobs)


def test_one_runner_per_view_is_active_and_a_standby_takes_over(pg_settings, pg_app) -> None:
    jobs = started_jobs(pg_app, 2)
    with views_of(pg_settings, pg_app, start=True) as first:
        assert until(lambda: all(s.active for s in first.supervisors))
        second = ReadModelService(pg_settings, pg_app, first.schema)
        second.start()
        try:
            assert until(lambda: all(s.standby for s in second.supervisors))
            assert not any(s.active for s in second.supervisors)
            first.stop()
            drive(pg_app, jobs[0])
            assert until(lambda: all(s.active for s in second.supervisors))
            assert second.wait_for(head(pg_app), timeout=300)
            assert_exact(second, pg_app, jobs)
        finally:
            second.stop()


def test_reads_survive_every_pooled_read_connection_being_dropped(
    pg_url, pg_settings, pg_app
) -> None:
    jobs = started_jobs(pg_app, 1)
    with views_of(pg_settings, pg_app) as views:
        views.catch_up()
        pool = views.db._read_pool()
        with pool.connection(), pool.connection(), pool.connection():
            pass  # three idle connections now wait in the pool
        assert end_connections(pg_url, CONNECTION_NAME) >= 3
        assert views.job_progress(jobs[0]) is not None
        assert views.job_progress(jobs[0]) is not None


def test_a_read_folded_over_the_views_is_run_again_when_its_connection_is_dropped(
    pg_url, pg_settings, pg_app
) -> None:
    """A read of a batch the views are behind on stands rows folded from the log in for
    theirs on one connection: when the server drops that one mid-read, the read runs again
    from its start on a live one."""
    batch_id, jobs = new_batch(pg_app, unique_org(), 2)
    ended: list[int] = []

    def read(reads: Any) -> list[dict[str, Any]]:
        if not ended:  # the first run: its connection is ended under it
            pid = reads.db.conn.info.backend_pid
            with psycopg.connect(pg_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            ended.append(pid)
        return list(reads.job_summaries(str(batch_id)))

    with views_of(pg_settings, pg_app) as views:  # never started: behind on every batch
        summaries = views.read_as_of_log(read, str(batch_id))
    assert len(ended) == 1
    assert sorted(str(s["job_id"]) for s in summaries) == sorted(jobs)
