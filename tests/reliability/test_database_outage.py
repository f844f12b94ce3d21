"""An engine whose database goes away for longer than its pools' first attempts to reconnect
carries its jobs to the end within a pool's attempt of the database coming back."""

from __future__ import annotations

import asyncio
import time
import uuid

import pytest

from infrastructure.dropped_connections import RECONNECT_SECONDS
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import engine_and_simulator, start_batch
from tests.conftest import cut_off, new_database, store_settings
from tests.kit import restaurants

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

OUTAGE_SECONDS = 35.0


async def test_jobs_move_again_within_seconds_of_a_long_outage_ending(pg_url: str) -> None:
    """The outage cuts the jobs mid-run (their saves, leases and look for work all fail);
    once the database is back they end within a pool's attempt and a few polls, where pools
    doubling their wait between attempts for five minutes (the next after 31 s at 63 s) left
    them about 25 s longer."""
    with new_database("rf_outage") as (name, url):
        settings = store_settings(url, worker_id=f"outage-{uuid.uuid4().hex[:6]}")
        app = Registrations(settings, sleep=lambda seconds: time.sleep(seconds / 10))
        try:
            job_ids = start_batch(app, restaurants(4))
            async with engine_and_simulator(app, settings, latency={"*": 0.2}) as (_, engine):
                await asyncio.sleep(1.0)  # the jobs are running
                cut_off(name, allowed=False)
                await asyncio.sleep(OUTAGE_SECONDS)
                cut_off(name, allowed=True)
                back = time.monotonic()
                assert await engine.run_until_idle(120)
                took = time.monotonic() - back
            assert {app.job(j).status.value for j in job_ids} == {"completed"}
            assert took < RECONNECT_SECONDS / 2 + 4, f"{took:.1f} s after the database was back"
        finally:
            cut_off(name, allowed=True)
            app.close()
