"""A worker killed with SIGKILL mid-run, again and again: every job still finishes, once."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from infrastructure.executors.simulator.calls import executions_per_key, overlapping_executions
from infrastructure.executors.simulator.faults import SimulatorConfig
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.application.engine_kit import simulator, start_batch
from tests.kit import eventually, restaurants

pytestmark = pytest.mark.slow
REGFLOW = str(Path(sys.executable).with_name("regflow"))


def worker_env(settings: Settings, url: str, worker_id: str) -> dict[str, str]:
    """The environment of a `regflow work` process on the test's store and simulator."""
    return os.environ | {
        "REGFLOW_DATABASE_URL": settings.database_url,
        "REGFLOW_SECRET_KEY": "test-passphrase",
        "REGFLOW_REGISTRATION_API_URL": url,
        "REGFLOW_WORKER_ID": worker_id,
        "REGFLOW_LEASE_SECONDS": "6",
    }


async def start_worker(env: dict[str, str], cwd: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        REGFLOW,
        "work",
        "--until-idle",
        "--timeout",
        "120",
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_kill_9_and_restart_finishes_every_job_once(
    app: Registrations, settings: Settings, tmp_path: Path
) -> None:
    job_ids = start_batch(app, restaurants(12))
    async with simulator(SimulatorConfig(latency={"*": 0.15})) as (sim, url):
        env = worker_env(settings, url, "killed-worker")
        ours = set(job_ids)

        def our_calls() -> int:
            """Calls for this test's jobs (the shared database may hold others in progress)."""
            return sum(1 for call in sim.calls if call.job in ours)

        for _ in range(3):
            process = await start_worker(env, tmp_path)
            target = our_calls() + 25
            await eventually(lambda t=target: our_calls() >= t, timeout=60)
            process.kill()
            await process.wait()
        process = await start_worker(env, tmp_path)
        _, errors = await asyncio.wait_for(process.communicate(), 120)
        assert process.returncode == 0, errors.decode()[-2000:]
        calls = list(sim.calls)
    assert {str(app.job(j).status) for j in job_ids} == {"completed"}
    assert set(executions_per_key(calls).values()) == {1}
    assert overlapping_executions(calls) == []
    interrupted = sum(
        1
        for j in job_ids
        for e in app.events.get(app.job(j).id)
        if type(e).__name__ == "SubStepInterrupted"
    )
    assert interrupted > 0
