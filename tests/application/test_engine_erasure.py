"""A running engine and an organisation's erasure: jobs of a batch made after the erasure run,
whenever the engine notices it. (A job read before it makes no call with what it read:
tests/reliability/test_erasure_live.py, against a live `serve`.)"""

from __future__ import annotations

import asyncio
from contextlib import closing
from typing import Any

from infrastructure.engine.erasures import ERASURE_CHECK_SECONDS
from infrastructure.keys.ring import KEY_CACHE_SECONDS
from infrastructure.settings import Settings
from infrastructure.usecases.erasure import erase_organisation, erasure_plan
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import ListingReadBefore, running_engine, simulator
from tests.conftest import unique_org
from tests.kit import restaurants


def started_batch(app: Registrations, org: str, items: list[dict[str, Any]]) -> list[str]:
    batch, jobs, _ = app.create_batch(org, "user:test", "erasure test", items)
    app.start_step6(org, batch.id, None, "user:test")
    return [str(j.id) for j in jobs]


def erased_elsewhere(settings: Settings, org: str, jobs: int) -> None:
    """`erase-organisation ORG --yes` as another process runs it: its own keys and caches."""
    with closing(Registrations(settings)) as eraser:
        erase_organisation(eraser, erasure_plan(eraser, org, jobs, 1), "cli:test")


async def test_a_batch_made_after_its_organisations_erasure_runs_before_the_engine_notices(
    app: Registrations, settings: Settings
) -> None:
    """The engine looks for erasures only when a call is about to be made: an idle engine
    learns of one at the first call of the next batch, read before that look. The batch's
    data is under the organisation's new key, so every job completes, its calls made."""
    org = unique_org()
    first = started_batch(app, org, restaurants(1))
    source = ListingReadBefore(app, first)
    async with (
        simulator() as (sim, url),
        running_engine(app, settings, url, work_source=source) as engine,
    ):
        assert await engine.run_until_idle(60)
        erased_elsewhere(settings, org, len(first))
        # As `erase-organisation` returns: once every process's cached keys are stale. Longer
        # than a look's freshness too: the next call looks, and notices the erasure.
        await asyncio.sleep(max(KEY_CACHE_SECONDS, ERASURE_CHECK_SECONDS) * 1.1)
        later = started_batch(app, org, restaurants(3))
        source.ours.update(later)
        engine.wake(later)
        assert await engine.run_until_idle(60)
    assert {j: str(app.job(j).status) for j in later} == {j: "completed" for j in later}
    made = {c.job for c in sim.calls if c.executed}
    assert set(later) <= made
