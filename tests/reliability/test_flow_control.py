"""Flow control against the simulator: caps, the rate, fairness and the adaptive limit."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from domain.retry import RetryPolicy
from infrastructure.executors.simulator.app import Simulator
from infrastructure.executors.simulator.faults import (
    CapacityFault,
    FaultRule,
    FaultSettings,
    SimulatorConfig,
)
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import running_engine, simulator
from tests.conftest import store_settings
from tests.kit import eventually
from tests.reliability.flow_kit import calls_of, share_429, start_org_batch
from tests.reliability.test_kill_restart import start_worker, worker_env

pytestmark = pytest.mark.slow


@pytest.fixture
def database_url(module_database_url: str) -> str:
    """A store of this module's own: an engine runs every job in progress in its store, and
    jobs other modules leave running would share the rate these tests measure (and its time)."""
    return module_database_url


LATENCY = SimulatorConfig(latency={"*": 0.05})


def flow_settings(database_url: str, **fields: object) -> Settings:
    return store_settings(database_url, worker_id=f"flow-{uuid.uuid4().hex[:6]}", **fields)


def statuses(app: Registrations, jobs: set[str]) -> set[str]:
    return {str(app.job(j).status) for j in jobs}


async def test_the_rate_holds_across_engines(app: Registrations, database_url: str) -> None:
    rate = 20.0
    _, jobs = start_org_batch(app, 5)
    engines = 2 if database_url.startswith("postgres") else 1
    async with simulator() as (sim, url):
        async with asyncio.TaskGroup() as group:
            for _ in range(engines):
                settings = flow_settings(database_url, api_rate_per_s=rate)
                group.create_task(_run_until_idle(app, settings, url))
        starts = sorted(c.started for c in calls_of(sim, jobs))
    assert statuses(app, jobs) == {"completed"} and len(starts) == 60
    # Calls are counted as they reach the simulator, not as granted: the first ones also wait
    # for connections to open, which squeezes the window they open by up to `jitter` seconds.
    burst, jitter = rate, 0.25
    for i, first in enumerate(starts):
        for j in range(i, len(starts)):
            assert j - i + 1 <= burst + rate * (starts[j] - first + jitter), (i, j)


async def _run_until_idle(app: Registrations, settings: Settings, url: str) -> None:
    async with running_engine(app, settings, url) as engine:
        assert await engine.run_until_idle(60)


async def small_batch_joins_a_large_one(
    app: Registrations,
    settings: Settings,
    size: int,
    progress: Callable[[Simulator, set[str]], int],
) -> tuple[Simulator, set[str], int]:
    """A large batch runs; once it has made 3 calls a batch of 2 joins and completes; then all
    complete. The large batch's `progress` is taken when the small one has completed."""
    _, large = start_org_batch(app, size)
    async with simulator(LATENCY) as (sim, url), running_engine(app, settings, url) as engine:
        await eventually(lambda: len(calls_of(sim, large)) >= 3)
        _, small = start_org_batch(app, 2)
        engine.wake(small)
        await eventually(lambda: statuses(app, small) == {"completed"}, timeout=60)
        progress_then = progress(sim, large)
        assert await engine.run_until_idle(60)
    assert statuses(app, large) == {"completed"}
    return sim, large, progress_then


async def test_a_small_batch_is_not_starved_by_a_large_one(
    app: Registrations, database_url: str
) -> None:
    settings = flow_settings(database_url, api_max_in_flight=3)
    sim, large, large_done_then = await small_batch_joins_a_large_one(
        app,
        settings,
        14,
        lambda sim, large: sum(1 for c in calls_of(sim, large) if c.status == 200),
    )
    assert sim.peak_in_flight <= 3
    assert large_done_then <= 0.4 * len(large) * 12


async def test_adaptive_limit_finds_a_capacity_of_4(app: Registrations, database_url: str) -> None:
    _, jobs = start_org_batch(app, 12)
    config = SimulatorConfig(latency={"*": 0.05}, capacity=CapacityFault(limit=4, retry_after=0.05))
    settings = flow_settings(database_url)
    async with simulator(config) as (sim, url), running_engine(app, settings, url) as engine:
        assert await engine.run_until_idle(90)
        calls = calls_of(sim, jobs)
    assert statuses(app, jobs) == {"completed"}
    adapted = calls[len(calls) // 3 :]
    assert share_429(adapted) < 0.1, share_429(adapted)


async def test_one_jobs_failing_endpoint_cuts_the_adaptive_limit_once(
    app: Registrations, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """One restaurant's endpoint answering 503 to every retry is that job's trouble: its retries
    do not cut the limit again and again down to one call for every job."""
    _, jobs = start_org_batch(app, 12)
    broken = sorted(jobs)[0]
    rule = FaultRule(kind="unavailable", endpoint="paymentConfig", job=broken)
    config = SimulatorConfig(latency={"*": 0.02}, faults=[rule])
    # Retries further apart than a round trip: each could cut the limit on its own.
    policy = RetryPolicy(
        max_attempts=6, initial_delay=0.1, multiplier=1.0, max_delay=0.1, jitter=0.0, timeout=5.0
    )
    settings = flow_settings(database_url)
    caplog.set_level(logging.INFO, logger="regflow.flow")
    async with (
        simulator(config) as (sim, url),
        running_engine(app, settings, url, policies={"*": policy}) as engine,
    ):
        assert await engine.run_until_idle(90)
        answered_503 = [c for c in calls_of(sim, {broken}) if c.status == 503]
    assert len(answered_503) == 6
    assert statuses(app, jobs - {broken}) == {"completed"}
    cuts = [
        r for r in caplog.records if "concurrency limit" in r.message and "(HTTP 503)" in r.message
    ]
    assert len(cuts) <= 1, [r.message for r in cuts]


@pytest.mark.postgres
async def test_two_worker_processes_keep_a_cap_of_3(pg_url: str, tmp_path: Path) -> None:
    settings = flow_settings(pg_url)
    app = Registrations(settings)
    try:
        _, jobs = start_org_batch(app, 12)
        async with simulator(LATENCY) as (sim, url):
            env = {"REGFLOW_API_MAX_IN_FLIGHT": "3"}
            workers = [
                await start_worker(worker_env(settings, url, f"cap-{n}") | env, tmp_path)
                for n in "ab"
            ]
            results = await asyncio.wait_for(
                asyncio.gather(*(w.communicate() for w in workers)), 120
            )
            peak, calls = sim.peak_in_flight, calls_of(sim, jobs)
        assert [w.returncode for w in workers] == [0, 0], [r[1].decode()[-1500:] for r in results]
        assert statuses(app, jobs) == {"completed"}
        assert peak == 3, peak
        assert len({c.organisation for c in calls}) == 1
    finally:
        app.close()


def slots_held(url: str, worker_id: str) -> int:
    with psycopg.connect(url) as conn:
        sql = "SELECT count(*) FROM regflow_api_slots WHERE worker_id = %s"
        row = conn.execute(sql, (worker_id,)).fetchone()
    return int(row[0]) if row else 0


@pytest.mark.postgres
async def test_a_killed_workers_slots_come_back_within_a_lease(pg_url: str, tmp_path: Path) -> None:
    lease = 3.0
    settings = flow_settings(pg_url, api_max_in_flight=2, lease_seconds=lease)
    app = Registrations(settings)
    try:
        _, jobs = start_org_batch(app, 3)
        hung = SimulatorConfig(faults=[FaultRule(kind="timeout")])
        async with simulator(hung) as (sim, url):
            env = {"REGFLOW_API_MAX_IN_FLIGHT": "2", "REGFLOW_LEASE_SECONDS": str(lease)}
            process = await start_worker(worker_env(settings, url, "doomed") | env, tmp_path)
            await eventually(lambda: sim.in_flight >= 2, timeout=30)
            assert slots_held(pg_url, "doomed") == 2
            process.kill()
            await process.wait()
            killed = time.monotonic()
            sim.configure(FaultSettings())
            async with running_engine(app, settings, url) as engine:
                assert await engine.run_until_idle(60)
            after = [c for c in calls_of(sim, jobs) if c.started > killed]
        assert statuses(app, jobs) == {"completed"}
        assert min(c.started for c in after) - killed <= lease + 1.5
        assert slots_held(pg_url, "doomed") == 0
        assert sim.peak_in_flight <= 2
    finally:
        app.close()


async def test_job_slots_go_to_organisations_in_turn(app: Registrations, database_url: str) -> None:
    settings = flow_settings(database_url, max_concurrent_jobs=3)
    *_, large_finished_then = await small_batch_joins_a_large_one(
        app, settings, 9, lambda _, large: sum(str(app.job(j).status) == "completed" for j in large)
    )
    assert large_finished_then <= 7, large_finished_then  # without turns: all 9
