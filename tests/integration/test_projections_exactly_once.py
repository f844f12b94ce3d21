"""Exactly once: runners killed, stopped, failing or racing neither repeat nor skip an event."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as examples
from hypothesis import strategies as st

from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from projections.catalogue import build_views
from projections.database import Database
from projections.live.runner import TrackingMoved, ViewRunner
from projections.live.service import ReadModelService
from projections.live.supervisor import Supervisor
from projections.schema import Schema
from projections.views import TimelineView
from tests.conftest import unique_org
from tests.integration.test_projections import assert_exact, drive, new_batch, views_of
from tests.kit import until

RUN_VIEWS = """
import sys, threading
from infrastructure.usecases.registrations import Registrations
from infrastructure.settings import Settings
from projections.schema import Schema
from projections.live.service import ReadModelService
settings = Settings(_env_file=None)
service = ReadModelService(settings, Registrations(settings), Schema(sys.argv[1]))
for runner in service.runners:
    runner.batch_size = 1
service.start()
threading.Event().wait()
"""


@pytest.fixture
def views(settings: Settings, app: Registrations) -> Iterator[ReadModelService]:
    with views_of(settings, app) as service:
        yield service


def finished_batch(app: Registrations, size: int) -> list[str]:
    batch_id, jobs = new_batch(app, unique_org(), size)
    app.start_step6(None, batch_id, None, "user:u-1")
    for index, job_id in enumerate(jobs):
        drive(app, job_id, fail="servicesConfig" if index % 3 == 0 else None)
    return jobs


def head(app: Registrations) -> int:
    return int(app.recorder.max_notification_id() or 0)


def test_a_killed_runner_process_restarts_where_it_stopped(settings: Settings, app) -> None:
    jobs = finished_batch(app, 12)
    schema, db = Schema(f"regflow_k{uuid.uuid4().hex[:8]}_"), Database(settings)
    env = os.environ | {
        "REGFLOW_DATABASE_URL": settings.database_url,
        "REGFLOW_SECRET_KEY": "test-passphrase",
    }
    child = subprocess.Popen([sys.executable, "-c", RUN_VIEWS, schema.prefix], env=env)
    try:
        assert until(lambda: _started(schema, db), timeout=60), "the child never applied an event"
        child.send_signal(signal.SIGKILL)
        child.wait(10)
        reached = schema.positions(db)
        assert 0 < min(reached.values()) < head(app), reached
        with ReadModelService(settings, app, schema) as service:
            service.catch_up()
            assert_exact(service, app, jobs)
            assert service.lag() == dict.fromkeys(reached, 0)
    finally:
        child.kill()
        child.wait(10)
        schema.drop(db)
        db.close()


def _started(schema: Schema, db: Database) -> bool:
    try:
        return min(schema.positions(db).values()) > 0
    except Exception:  # the child has not created the tables yet
        return False


def start_at(views: ReadModelService, position: int) -> None:
    conn = views.db.connect()
    try:
        with views.db.transaction(conn) as cur:
            cur.execute(
                views.db.sql(f"UPDATE {views.schema.tracking} SET notification_id = ?"), (position,)
            )
    finally:
        conn.close()


class Flaky:
    """A view failing after writing its rows, once every `every` runs: they must roll back."""

    def __init__(self, view: Any, every: int) -> None:
        self.view, self.every, self.calls, self.name = view, every, 0, view.name
        self.fold_version = view.fold_version

    def forget(self) -> None:
        self.view.forget()

    def apply(self, *args: Any) -> None:
        self.view.apply(*args)
        self.calls += 1
        if self.calls % self.every == 0:
            raise RuntimeError("the view's database went away mid-transaction")


def test_a_failing_view_rolls_back_and_its_supervisor_carries_on(settings, app, views) -> None:
    start_at(views, head(app))  # the session's database holds other tests' events before these
    jobs = finished_batch(app, 4)
    runners = [ViewRunner(app, views.db, [Flaky(v, 3)], views.schema, 7) for v in build_views(app)]
    stopping = threading.Event()
    supervisors = [Supervisor(r, threading.Event(), stopping, 0.01, lambda: None) for r in runners]
    for supervisor in supervisors:
        supervisor.start()
    try:
        assert until(lambda: min(views.positions().values()) == head(app))
    finally:
        stopping.set()
        for supervisor in supervisors:
            supervisor.join(10)
    assert all(s.restarts > 0 for s in supervisors)
    assert_exact(views, app, jobs)


def test_a_stopped_service_resumes_without_applying_anything_twice(settings, app) -> None:
    jobs = finished_batch(app, 6)
    with views_of(settings, app) as first:
        for runner in first.runners:
            runner.batch_size = 5
        first._notify_progress = first._stopping.set  # stop right after the first commit
        first.start()
        assert until(lambda: not any(s.thread.is_alive() for s in first.supervisors))
        first.stop()
        assert min(first.positions().values()) < head(app)
        second = ReadModelService(settings, app, first.schema)
        second.start()
        assert second.wait_for(head(app), timeout=300)
        assert_exact(second, app, jobs)
        second.stop()


def test_two_runners_on_one_view_never_apply_an_event_twice(app, views) -> None:
    jobs = finished_batch(app, 2)
    stale = views.positions()["job_timeline"]
    fast = ViewRunner(app, views.db, [TimelineView()], views.schema, batch_size=10)
    slow = ViewRunner(app, views.db, [TimelineView()], views.schema, batch_size=25)
    conn_a, conn_b = views.db.connect(), views.db.connect()
    try:
        fast.step(conn_a)
        with pytest.raises(TrackingMoved):
            _step_from(slow, conn_b, stale)
    finally:
        conn_a.close()
        conn_b.close()
    views.catch_up()
    assert_exact(views, app, jobs)


def _step_from(runner: ViewRunner, conn: Any, start: int) -> None:
    """Apply events after `start`, as a runner that read its position before another moved it."""
    notifications = runner.app.recorder.select_notifications(start, 25, inclusive_of_start=False)
    events = [runner.app.mapper.to_domain_event(n) for n in notifications]
    with runner.db.transaction(conn) as cur:
        runner._advance(cur, start, notifications[-1].id)
        for view in runner.views:
            view.apply(runner.db, cur, runner.schema, events)


def test_a_runner_behind_a_moved_view_refuses_to_apply_from_where_it_left_off(app, views) -> None:
    jobs = finished_batch(app, 2)
    first = ViewRunner(app, views.db, [TimelineView()], views.schema, batch_size=5)
    other = ViewRunner(app, views.db, [TimelineView()], views.schema, batch_size=5)
    conn_a, conn_b = views.db.connect(), views.db.connect()
    try:
        first.take_over(conn_a)
        first.step(conn_a)
        other.take_over(conn_b)
        other.step(conn_b)
        with pytest.raises(TrackingMoved):
            first.step(conn_a)
        assert first.committed is None, "the stale runner forgets, then reads its position again"
    finally:
        conn_a.close()
        conn_b.close()
    views.catch_up()
    assert_exact(views, app, jobs)


def _run_alone(views: ReadModelService, name: str, stop: int, batch_size: int) -> None:
    """Move one view to `stop` by a runner of it alone, as a process that runs views apart."""
    view = next(v for v in build_views(views.app) if v.name == name)
    conn = views.db.connect()
    try:
        ViewRunner(views.app, views.db, [view], views.schema, batch_size).run_to(conn, stop)
    finally:
        conn.close()


@examples(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    shares=st.lists(st.floats(0, 1), min_size=3, max_size=3),
    batch_size=st.integers(1, 9),
)
def test_views_standing_apart_are_levelled_then_move_together_exactly_once(
    settings: Settings, app: Registrations, shares: list[float], batch_size: int
) -> None:
    base = head(app)  # the session's database holds other tests' events before these
    jobs = finished_batch(app, 2)
    end = head(app)
    with views_of(settings, app) as views:
        start_at(views, base)
        names = [r for runner in views.runners for r in runner.names]
        for name, share in zip(names, shares, strict=True):
            _run_alone(views, name, base + round(share * (end - base)), batch_size)
        for runner in views.runners:
            runner.batch_size = batch_size
        views.catch_up()
        assert set(views.positions().values()) == {end}
        assert_exact(views, app, jobs)


def test_a_view_added_behind_the_others_is_caught_up_by_the_running_service(settings, app) -> None:
    with views_of(settings, app) as views:
        start_at(views, head(app))
        jobs = finished_batch(app, 2)
        _run_alone(views, "job_timeline", head(app), 4)
        _run_alone(views, "batch_summaries", head(app) - 3, 4)
        views.start()
        assert views.wait_for(head(app), timeout=300)
        later = finished_batch(app, 1)
        assert views.wait_for(head(app), timeout=300)
        assert set(views.positions().values()) == {head(app)}
        assert_exact(views, app, jobs + later)


def test_the_runner_of_all_views_stands_by_while_one_view_is_run_elsewhere(settings, app) -> None:
    with views_of(settings, app) as views:
        start_at(views, head(app))
        jobs = finished_batch(app, 2)
        (runner,) = views.runners
        elsewhere = views.db.connect()
        try:
            assert views.db.try_lock(elsewhere, runner.lock_names[1])
            views.start()
            assert until(lambda: all(s.standby for s in views.supervisors))
            assert not any(s.active for s in views.supervisors)
            assert views.positions()["job_progress"] < head(app)
            views.db.release(elsewhere, runner.lock_names[1])
            assert until(lambda: all(s.active for s in views.supervisors))
        finally:
            elsewhere.close()
        assert views.wait_for(head(app), timeout=300)
        assert_exact(views, app, jobs)


def test_a_hung_holder_is_stepped_in_for_and_nothing_is_applied_twice(settings, app) -> None:
    """A process that holds the views' lock but applies nothing (stopped, its connection open)
    left every other process waiting behind it for good: edits answered after their 5 s wait
    with reads that did not show them. A standby now steps in once the views have not moved
    for STALLED_AFTER seconds; the holder, come back, finds its tracking moved."""
    with views_of(settings, app) as views:
        views.catch_up(60)
        hung = ViewRunner(app, views.db, build_views(app), views.schema)
        held = views.db.connect()
        try:
            assert hung.lock(held)
            hung.take_over(held)
            assert hung.step(held) == 0  # it stands where the views stand, then hangs
            jobs = finished_batch(app, 3)
            views.start()
            # The standby counts a run after the run commits: the views can be seen at the
            # head a moment before the count is, so both are waited for together.
            standby = views.supervisors[0]
            assert until(
                lambda: standby.stepped_in > 0 and min(views.positions().values()) == head(app),
                timeout=30,
            )
            assert views.wait_for(head(app), timeout=1)
            with pytest.raises(TrackingMoved):
                hung.step(held)  # the holder comes back: it applies nothing twice
        finally:
            hung.unlock(held)
            held.close()
        assert_exact(views, app, jobs)


def test_a_read_that_brings_the_views_up_meets_another_process_doing_so(settings, app) -> None:
    """Two processes' reads both bring the views up to date (on SQLite the views' lock keeps
    out one process's runners only): the one whose run finds the tracking moved looks again
    and answers. A CLI read ended in a TrackingMoved traceback and exit 1."""
    with views_of(settings, app) as views:
        views.catch_up(60)
        jobs = finished_batch(app, 3)
        runner, other = views.runners[0], ViewRunner(app, views.db, build_views(app), views.schema)
        applying, raced = runner.apply, []

        def after_another_process(conn: Any, *args: Any) -> int:
            if not raced:
                raced.append(True)
                elsewhere = views.db.connect()
                try:
                    assert other.step(elsewhere) > 0  # the other process moves the views first
                finally:
                    elsewhere.close()
            return applying(conn, *args)

        runner.apply = after_another_process  # type: ignore[method-assign]
        assert views.wait_for(head(app), timeout=30)
        assert raced
        assert_exact(views, app, jobs)
