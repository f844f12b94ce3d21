"""Property: reads as of the log, taken while the views stand anywhere behind it, answer what the
views answer once they have caught up; and a job folded from the log equals its view row. So
the two ways of answering (the views' rows, and the log folded by the views' own folds) cannot
drift apart: any command sequence, any point the views were held up at, either way of finding
what they are behind on (by the events past their position, or by each aggregate's version).

And a read of one batch while the views are far behind (thousands of other events past their
position) loads only that batch's aggregates, still answering what the views will.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.presenters import job_answer
from domain.exceptions import RegflowError
from infrastructure.usecases.bulk import load_many
from infrastructure.usecases.registrations import Registrations
from projections import behind
from projections.behind import FEW_EVENTS_BEHIND
from projections.live.service import ReadModelService
from projections.schema import JOBS as JOB_VIEW
from tests import kit
from tests.conftest import store_settings, unique_org
from tests.unit.jobs import try_chosen_command

Stores = tuple[Registrations, ReadModelService]
JOBS = 3
STATUSES = (None, "pending", "in_progress", "failed", "cancelled", "completed", "blocked")


@pytest.fixture(scope="module")
def stores(module_database_url: str) -> Iterator[Stores]:
    """A store and its views (never started: moved by hand), on a database of their own."""
    with contextlib.closing(Registrations(store_settings(module_database_url))) as app:
        views = ReadModelService(app.settings, app)
        try:
            yield app, views
        finally:
            views.stop()


def batch_read(views: ReadModelService, batch_id: UUID, jobs: list[str]) -> Any:
    """Every answer the API gives of the batch as of the log (`jobs`: its jobs' ids)."""
    batch = str(batch_id)
    with views.as_of_log(batch_id=batch) as reads:
        return (
            reads.batch_summary(batch),
            reads.job_summaries(batch),
            reads.batch_sub_steps(batch),
            reads.batch_tag(batch),
            reads.count_in_batch(batch, jobs[1:]),
            [reads.job_page(batch, 2, status=status) for status in STATUSES],
            reads.job_page(batch, 1, q="r1"),
        )


def list_read(views: ReadModelService, org: str) -> list[dict[str, Any]]:
    """The organisation's batches as of the log."""
    with views.as_of_log(organisation_id=org) as reads:
        return reads.list_batches(org)


def everything_read(views: ReadModelService, batch_id: UUID, org: str, jobs: list[str]) -> Any:
    """Every answer the API gives of the batch, its jobs and the organisation's batches."""
    found: dict[str, Any] = {}
    for job_id in jobs:
        now = views.job_now(UUID(job_id))
        assert now is not None
        found[job_id] = (job_answer(now.row).body, views.timeline_now(now, 0, 1000))
    found["batch"] = batch_read(views, batch_id, jobs)
    found["list"] = list_read(views, org)
    return found


@pytest.mark.parametrize("few_events", [FEW_EVENTS_BEHIND, 0], ids=["since_views", "by_version"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, JOBS), st.integers(0, 10_000)), max_size=40),
    st.integers(0, 10_000),
)
def test_reads_as_of_the_log_equal_the_views_caught_up(
    stores: Stores, few_events: int, commands: list[tuple[int, int]], cut: int
) -> None:
    app, views = stores
    views.behind.few_events = few_events  # 0: every read behind asks by version
    try:
        reads_of_commands_equal_the_views_caught_up(app, views, commands, cut)
    finally:
        views.behind.few_events = FEW_EVENTS_BEHIND


def reads_of_commands_equal_the_views_caught_up(
    app: Registrations, views: ReadModelService, commands: list[tuple[int, int]], cut: int
) -> None:
    views.catch_up()
    org = unique_org()
    restaurants = [kit.restaurant(f"R{i}", f"r{i}") for i in range(JOBS)]
    batch, jobs, saved = app.create_batch(org, "user:u-1", "B", restaurants)
    positions = [min(views.positions().values()), saved.position]
    for which, choice in commands:
        if which == JOBS:  # the batch's own command
            with contextlib.suppress(RegflowError):
                positions.append(app.start_step6(org, batch.id, None, "user:u-1").position)
            continue
        job = app.job(jobs[which].id)
        try_chosen_command(job, choice)
        positions.append(app.store(job).position)
    views.wait_for(positions[cut % len(positions)])  # the views stand there, held up
    ids = [str(j.id) for j in jobs]
    held = everything_read(views, batch.id, org, ids)
    views.catch_up()
    assert held == everything_read(views, batch.id, org, ids)
    for job in jobs:
        assert views.job_from_log(job.id) == views.job_progress(str(job.id))


OTHER_JOBS = 1000  # another organisation's batch and its start: 2,002 events
FEW_EVENTS = 10  # the events past the views' position a read looks at, here


def other_events(app: Registrations) -> UUID:
    """Thousands of events of another organisation's batch (more than a read looks at past the
    views' position before it asks per aggregate); the batch's id."""
    org = unique_org()
    other, _, _ = app.create_batch(org, "user:u-1", "Other", kit.restaurants(OTHER_JOBS))
    app.start_step6(org, other.id, None, "user:u-1")
    return other.id


@pytest.fixture
def loaded(monkeypatch: pytest.MonkeyPatch) -> list[UUID]:
    """The ids of every aggregate the reads as of the log load, in order."""
    ids: list[UUID] = []

    def recorded(app: Registrations, wanted: list[UUID], projector: Any) -> dict[UUID, Any]:
        ids.extend(wanted)
        return load_many(app, wanted, projector)

    monkeypatch.setattr(behind, "load_many", recorded)
    return ids


@pytest.fixture
def fetched(stores: Stores, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many rows each query of the views' database answers (the overlay's are not counted)."""
    _, views = stores
    counts: list[int] = []
    fetch = views.db.fetch

    def counted(query: str, params: Any = ()) -> list[dict[str, Any]]:
        rows = fetch(query, params)
        counts.append(len(rows))
        return rows

    monkeypatch.setattr(views.db, "fetch", counted)
    return counts


def caught_up_batch(app: Registrations, views: ReadModelService, jobs: int) -> Any:
    """A new organisation's batch of `jobs` jobs, which the views hold: the organisation, the
    batch and its jobs' ids."""
    org = unique_org()
    batch, made, _ = app.create_batch(org, "user:u-1", "B", kit.restaurants(jobs))
    views.catch_up()
    return org, batch.id, [str(j.id) for j in made]


def stand_the_job_view_at(views: ReadModelService, position: int, batch: UUID) -> None:
    """Move the job view back to `position`, before the batch (as a view added later, or run
    apart, stands): the batch view holds the batch, the job view none of its jobs."""
    conn = views.db.connect()
    try:
        with views.db.transaction(conn) as cur:
            tracking, jobs = views.schema.tracking, views.schema.jobs
            move = f"UPDATE {tracking} SET notification_id = ? WHERE view_name = ?"
            cur.execute(views.db.sql(move), (position, JOB_VIEW))
            cur.execute(views.db.sql(f"DELETE FROM {jobs} WHERE batch_id = ?"), (str(batch),))
    finally:
        conn.close()


class TestReadsWhileTheViewsAreFarBehind:
    @pytest.fixture(autouse=True)
    def few_events(self, stores: Stores, monkeypatch: pytest.MonkeyPatch) -> None:
        """Reads look at a few events past the views' position, far fewer than there are."""
        monkeypatch.setattr(stores[1].behind, "few_events", FEW_EVENTS)

    def test_a_batch_read_asks_about_and_loads_only_that_batch(
        self, stores: Stores, loaded: list[UUID], fetched: list[int]
    ) -> None:
        app, views = stores
        org, batch, jobs = caught_up_batch(app, views, JOBS)
        app.start_step6(org, batch, None, "user:u-1")  # the batch and its jobs are behind
        other_events(app)
        fetched.clear()
        found = views.behind.of_read(str(batch), None)
        # The first events past the views (grouped), then the batch's row and its jobs' rows.
        assert sum(fetched) <= FEW_EVENTS + 1 + 1 + JOBS
        assert sorted(loaded) == sorted(a.id for a in found) == sorted([batch, *map(UUID, jobs)])
        held = batch_read(views, batch, jobs)
        views.catch_up()
        assert held == batch_read(views, batch, jobs)

    def test_an_edited_job_shows_in_its_batch_and_the_list(
        self, stores: Stores, loaded: list[UUID]
    ) -> None:
        app, views = stores
        org, batch, jobs = caught_up_batch(app, views, JOBS)
        app.cancel(org, jobs[1], "user:u-1", "stop")
        other = other_events(app)
        held = batch_read(views, batch, jobs), list_read(views, org)
        assert [j["status"] for j in held[0][1]] == ["pending", "cancelled", "pending"]
        assert [b["cancelled"] for b in held[1]] == [1]
        assert set(loaded) - {other} == {UUID(jobs[1])}  # the other batch: whose is it?
        views.catch_up()
        assert held == (batch_read(views, batch, jobs), list_read(views, org))

    def test_a_batch_created_meanwhile_is_read_and_listed(
        self, stores: Stores, loaded: list[UUID]
    ) -> None:
        app, views = stores
        org, earlier, _ = caught_up_batch(app, views, 1)
        other = other_events(app)
        batch, made, _ = app.create_batch(org, "user:u-1", "New", kit.restaurants(2))
        jobs = [str(j.id) for j in made]
        held = batch_read(views, batch.id, jobs), list_read(views, org)
        assert [j["id"] for j in held[0][1]] == jobs
        assert [b["id"] for b in held[1]] == [str(batch.id), str(earlier)]
        assert set(loaded) <= {other, batch.id, *map(UUID, jobs)}  # no other's job
        views.catch_up()
        assert held == (batch_read(views, batch.id, jobs), list_read(views, org))


@pytest.mark.parametrize("few_events", [FEW_EVENTS_BEHIND, 0], ids=["since_views", "by_version"])
def test_a_batch_whose_jobs_the_job_view_lacks_is_read_with_them(
    stores: Stores, few_events: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    app, views = stores
    views.catch_up()
    before = min(views.positions().values())
    org, batch, jobs = caught_up_batch(app, views, JOBS)
    stand_the_job_view_at(views, before, batch)
    monkeypatch.setattr(views.behind, "few_events", few_events)
    held = batch_read(views, batch, jobs), list_read(views, org)
    assert [j["id"] for j in held[0][1]] == jobs
    views.catch_up()
    assert held == (batch_read(views, batch, jobs), list_read(views, org))
