"""A bug inside one job's save ends that job's run loudly and sets it aside; others run on."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import pytest
from prometheus_client import REGISTRY

from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import engine_and_simulator
from tests.application.engine_kit import start_batch as start
from tests.kit import eventually, restaurants


class BuggyStore(Registrations):
    """A store whose saves of one job raise TypeError, as a mapping bug would."""

    def __init__(self, settings: Settings) -> None:
        super().__init__(settings)
        self.broken_job: str | None = None
        self.broken_saves = 0

    def store(self, *aggregates: Any) -> Any:
        ids = {str(e.originator_id) for a in aggregates for e in getattr(a, "events", [])}
        if self.broken_job in ids:
            self.broken_saves += 1
            raise TypeError("cannot serialise a set")
        return super().store(*aggregates)


@pytest.fixture
def buggy(settings: Settings) -> Iterator[BuggyStore]:
    with closing(BuggyStore(settings)) as store:
        yield store


def broken_runs() -> float:
    return REGISTRY.get_sample_value("regflow_engine_job_runs_broken_total") or 0.0


async def test_a_type_error_in_a_save_quarantines_that_job_and_others_finish(
    buggy: BuggyStore, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    job_ids = start(buggy, restaurants(4))
    buggy.broken_job = job_ids[0]
    before = broken_runs()
    with caplog.at_level(logging.ERROR, logger="regflow.engine"):
        async with engine_and_simulator(buggy, settings) as (_, engine):
            await eventually(lambda: all(buggy.job(j).status == "completed" for j in job_ids[1:]))
            await eventually(lambda: engine.health()["degraded"])
            saves_when_quarantined = buggy.broken_saves
            assert engine.quarantine.holds(job_ids[0])
            assert job_ids[0] not in engine.runners
            await engine.run_until_idle(1.0)
            assert buggy.broken_saves == saves_when_quarantined
    errors = [r for r in caplog.records if r.levelno == logging.ERROR and job_ids[0] in r.message]
    assert errors and errors[0].exc_info is not None
    assert errors[0].exc_info[0] is TypeError
    assert broken_runs() == before + 1
    assert buggy.job(job_ids[0]).status == "in_progress"
    assert engine.status()["quarantined"][0]["job_id"] == job_ids[0]
