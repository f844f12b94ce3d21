"""PostgreSQL under stress: connections killed mid-batch, and two worker processes on one batch."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from domain.plan import PLAN
from infrastructure.executors.simulator.calls import executions_per_key, overlapping_executions
from infrastructure.executors.simulator.faults import SimulatorConfig
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import running_engine, simulator, start_batch
from tests.conftest import store_settings
from tests.kit import restaurants
from tests.reliability.test_kill_restart import start_worker, worker_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres]


@pytest.fixture
def pg_settings(pg_url: str) -> Settings:
    return store_settings(pg_url, worker_id=f"pg-worker-{uuid.uuid4().hex[:6]}")


@pytest.fixture
def pg_app(pg_settings: Settings) -> Iterator[Registrations]:
    app = Registrations(pg_settings, sleep=lambda seconds: time.sleep(seconds / 10))
    yield app
    app.close()


def assert_log_intact(app: Registrations, job_ids: list[str]) -> None:
    """Replaying the log: versions contiguous, each sub-step completed once, nothing doubled."""
    notifications = app.recorder.select_notifications(None, 1_000_000)
    keys = [(n.originator_id, n.originator_version) for n in notifications]
    assert len(keys) == len(set(keys))
    for job_id in job_ids:
        events = list(app.events.get(app.job(job_id).id))
        assert [e.originator_version for e in events] == list(range(1, len(events) + 1))
        done = Counter(e.sub_step for e in events if type(e).__name__ == "SubStepCompleted")
        assert done == Counter(PLAN.keys)
        assert type(events[-1]).__name__ == "JobCompleted"


async def terminate_connections(url: str, rounds: int, every: float) -> int:
    """Kill every other backend on the database `rounds` times; returns how many died."""
    killed = 0
    dbname = url.rsplit("/", 1)[1]
    sql = (
        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
        "WHERE datname = %s AND pid <> pg_backend_pid()"
    )
    for _ in range(rounds):
        await asyncio.sleep(every)
        async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
            row = await (await conn.execute(sql, (dbname,))).fetchone()
            killed += row[0] if row else 0
    return killed


async def test_batch_completes_while_connections_are_terminated(
    pg_app: Registrations, pg_settings: Settings, pg_url: str
) -> None:
    job_ids = start_batch(pg_app, restaurants(20))
    slow = SimulatorConfig(latency={"*": 0.05})
    async with simulator(slow) as (sim, url), running_engine(pg_app, pg_settings, url) as engine:
        killed = await terminate_connections(pg_url, rounds=6, every=0.3)
        assert await engine.run_until_idle(90)
    assert killed > 0
    assert {str(pg_app.job(j).status) for j in job_ids} == {"completed"}
    assert set(executions_per_key(sim.calls).values()) == {1}
    assert_log_intact(pg_app, job_ids)


async def test_two_workers_never_run_one_job_at_once(
    pg_app: Registrations, pg_settings: Settings, tmp_path: Path
) -> None:
    job_ids = start_batch(pg_app, restaurants(40))
    async with simulator(SimulatorConfig(latency={"*": 0.05})) as (sim, url):
        workers = [
            await start_worker(worker_env(pg_settings, url, f"worker-{name}"), tmp_path)
            for name in "ab"
        ]
        results = await asyncio.wait_for(asyncio.gather(*(w.communicate() for w in workers)), 120)
        calls = list(sim.calls)
    assert [w.returncode for w in workers] == [0, 0], [r[1].decode()[-1500:] for r in results]
    assert {str(pg_app.job(j).status) for j in job_ids} == {"completed"}
    assert set(executions_per_key(calls).values()) == {1}
    assert overlapping_executions(calls, executed_only=False) == []
    claims = {
        j: [
            e.worker_id
            for e in pg_app.events.get(pg_app.job(j).id)
            if type(e).__name__ == "Claimed"
        ]
        for j in job_ids
    }
    assert all(len(c) == 1 for c in claims.values())
    assert {c[0] for c in claims.values()} == {"worker-a", "worker-b"}
    assert_log_intact(pg_app, job_ids)
