"""An organisation erased while a live `serve` runs its jobs: once `erase-organisation --yes`
has returned, that process makes no call with the organisation's data (every call of a job
carries its restaurant's personal data), and its jobs fail saying the data was erased, as a
process started after the erasure would (SPEC section 3: crypto-shredding). The jobs of other
organisations run on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from infrastructure.executors.simulator.faults import FaultRule, SimulatorConfig
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import simulator, start_batch
from tests.conftest import own_database_url
from tests.kit import eventually, free_port, restaurants
from tests.reliability.test_live_workers import process_env, ready, spawn, stop

pytestmark = pytest.mark.slow
FIRST = "cloudwaitressAccount"
# The first call of every job answers 503 a while: the engine retries it, 1, 2, 4 s apart.
RETRIED = SimulatorConfig(
    latency={"*": 0.05}, faults=[FaultRule(kind="unavailable", endpoint=FIRST, times=4)]
)
ERASED = "the organisation's data was erased"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A store of this test's own: a live `serve` would run other tests' jobs too."""
    yield from own_database_url(request, tmp_path, "regflow_erasure_live")


def failed_saying_erased(app: Registrations, job_ids: list[str]) -> bool:
    jobs = [app.job(job_id) for job_id in job_ids]
    return all(j.status == "failed" and ERASED in (j.last_error or "") for j in jobs)


async def test_no_call_with_an_erased_organisations_data_after_the_erasure_returns(
    app: Registrations, settings: Settings, tmp_path: Path
) -> None:
    port = free_port()
    async with simulator(RETRIED) as (sim, url):
        env = process_env(settings, url, REGFLOW_PORT=str(port))
        serve = await spawn(env, tmp_path, "serve")
        try:
            await ready(port, serve)
            erased = start_batch(app, restaurants(3))
            kept = start_batch(app, restaurants(2))
            erased_org = app.job(erased[0]).organisation_id
            await eventually(lambda: all(any(c.job == j for c in sim.calls) for j in erased), 60)
            erase = await spawn(env, tmp_path, "erase-organisation", erased_org, "--yes")
            _, err = await asyncio.wait_for(erase.communicate(), 60)
            returned = time.monotonic()
            assert erase.returncode == 0, err.decode()
            await eventually(lambda: failed_saying_erased(app, erased), 60)
            await eventually(lambda: all(app.job(j).status == "completed" for j in kept), 60)
        finally:
            await stop(serve)
        late = [c for c in sim.calls if c.organisation == erased_org and c.started > returned]
        assert late == [], f"{len(late)} calls after the erasure returned"
