"""The engine reads the store when it must: a job it has just loaded is not asked for news."""

from __future__ import annotations

from domain.job import RegistrationJob
from infrastructure.engine.storage import StoreGateway
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import running_engine, simulator, start_batch
from tests.kit import restaurants


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
    start_batch(app, restaurants(1))
    gateway = NewsAsked(app)
    async with simulator() as (_, url), running_engine(app, settings, url, gateway=gateway) as e:
        assert await e.run_until_idle(settings.lease_seconds / 4)
    assert gateway.asked == []
