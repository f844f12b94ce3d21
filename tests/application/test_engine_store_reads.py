"""The engine reads the store when it must: a job it has just loaded is not asked for news, and
leases are looked up for the jobs it could take now, not for every job waiting."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.job import RegistrationJob
from infrastructure.engine.engine import CLAIM_LOOKAHEAD
from infrastructure.engine.leases import Leases, open_leases
from infrastructure.engine.storage import StoreGateway
from infrastructure.engine.work_source import ChosenJobsSource
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import running_engine, simulator, start_batch
from tests.kit import eventually, restaurants


class NewsAsked(StoreGateway):
    """The store gateway, noting each job it is asked for news of."""

    def __init__(self, app: Registrations) -> None:
        super().__init__(app)
        self.asked: list[str] = []

    async def has_news(self, job: RegistrationJob) -> bool:
        self.asked.append(str(job.id))
        return await super().has_news(job)


async def test_a_job_run_within_one_check_interval_is_never_asked_for_news(
    app: Registrations, settings: Settings
) -> None:
    job_ids = start_batch(app, restaurants(1))
    gateway = NewsAsked(app)
    # Its own job only: other tests' jobs in progress on a shared store (one a worker that
    # died a moment ago still holds, one running longer than a check interval) are not it.
    source = ChosenJobsSource(app, job_ids)
    async with (
        simulator() as (_, url),
        running_engine(app, settings, url, gateway=gateway, work_source=source) as e,
    ):
        assert await e.run_until_idle(settings.lease_seconds / 4)
    assert [j for j in gateway.asked if j in job_ids] == []
    assert str(app.job(job_ids[0]).status) == "completed"


class BusyAsked:
    """The engine's lease table, noting how many jobs each lease lookup asks about."""

    def __init__(self, leases: Leases) -> None:
        self.leases = leases
        self.sizes: list[int] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.leases, name)

    def busy(self, job_ids: Iterable[str], worker_id: str) -> set[str]:
        ids = list(job_ids)
        self.sizes.append(len(ids))
        return self.leases.busy(ids, worker_id)


async def test_leases_are_looked_up_for_a_few_jobs_more_than_the_free_places(
    app: Registrations, settings: Settings
) -> None:
    settings = settings.model_copy(update={"max_concurrent_jobs": 2})
    start_batch(app, restaurants(CLAIM_LOOKAHEAD + 8))
    leases = BusyAsked(open_leases(settings))
    async with simulator() as (_, url), running_engine(app, settings, url, leases=leases):
        await eventually(lambda: len(leases.sizes) >= 2)
    assert max(leases.sizes) <= CLAIM_LOOKAHEAD
