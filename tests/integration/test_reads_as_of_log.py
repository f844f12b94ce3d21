"""Property: reads as of the log, taken while the views stand anywhere behind it, answer what the
views answer once they have caught up; and a job folded from the log equals its view row. So
the two ways of answering (the views' rows, and the log folded by the views' own folds) cannot
drift apart: any command sequence, any point the views were held up at."""

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
from infrastructure.usecases.registrations import Registrations
from projections.live.service import ReadModelService
from tests import kit
from tests.conftest import new_database, store_settings, unique_org
from tests.unit.jobs import try_chosen_command

Stores = tuple[Registrations, ReadModelService]
JOBS = 3
STATUSES = (None, "pending", "in_progress", "failed", "cancelled", "completed", "blocked")


@pytest.fixture(
    scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def stores(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stores]:
    """A store and its views (never started: moved by hand), on a database of their own."""
    with contextlib.ExitStack() as stack:
        if request.param == "postgres":
            request.getfixturevalue("pg_url")  # skips when PostgreSQL is unreachable
            url = stack.enter_context(new_database("regflow_as_of_log"))[1]
        else:
            url = f"sqlite:///{tmp_path_factory.mktemp('as_of_log') / 'regflow.db'}"
        app = stack.enter_context(contextlib.closing(Registrations(store_settings(url))))
        views = ReadModelService(app.settings, app)
        stack.callback(views.stop)
        yield app, views


def everything_read(views: ReadModelService, batch_id: UUID, org: str, jobs: list[str]) -> Any:
    """Every answer the API gives of the batch, its jobs and the organisation's batches."""
    found: dict[str, Any] = {}
    for job_id in jobs:
        now = views.job_now(UUID(job_id))
        assert now is not None
        found[job_id] = (job_answer(now.row).body, views.timeline_now(now, 0, 1000))
    batch = str(batch_id)
    with views.as_of_log(batch_id=batch) as reads:
        found["batch"] = (
            reads.batch_summary(batch),
            reads.job_summaries(batch),
            reads.batch_sub_steps(batch),
            reads.batch_tag(batch),
            reads.count_in_batch(batch, jobs[1:]),
            [reads.job_page(batch, 2, status=status) for status in STATUSES],
            reads.job_page(batch, 1, q="r1"),
        )
    with views.as_of_log(organisation_id=org) as reads:
        found["list"] = reads.list_batches(org)
    return found


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.integers(0, JOBS), st.integers(0, 10_000)), max_size=40),
    st.integers(0, 10_000),
)
def test_reads_as_of_the_log_equal_the_views_caught_up(
    stores: Stores, commands: list[tuple[int, int]], cut: int
) -> None:
    app, views = stores
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
