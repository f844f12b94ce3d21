"""An imported legacy job resumed and run by the engine against the simulated registration API."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.retry import RetryPolicy
from infrastructure.executors.http import HttpExecutor
from infrastructure.executors.simulator.app import SIMULATOR
from infrastructure.executors.simulator.main import start_embedded_simulator
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org
from tests.integration.audit_kit import Cli, cli
from tests.integration.test_audit_legacy import fresh_copy
from tests.kit import eventually

__all__ = ["cli"]

engine_module = pytest.importorskip("infrastructure.engine")
FAST = RetryPolicy(
    max_attempts=3, initial_delay=0.01, multiplier=2.0, max_delay=0.05, jitter=0.0, timeout=5.0
)


async def settled(app: Registrations, job_id: str, timeout: float = 20.0) -> str:
    """The job's status once it has stopped running, waiting at most `timeout` seconds."""
    await eventually(lambda: app.job(job_id).status != "in_progress", timeout)
    return str(app.job(job_id).status)


async def test_engine_calls_only_the_three_menu_steps(
    cli: Cli, app: Registrations, settings: Settings, tmp_path: Path
) -> None:
    path, [job_id] = fresh_copy("buzz.json", tmp_path)
    org = unique_org()
    assert cli("import-legacy", str(path), "--org", org).code == 0
    runner, url = await start_embedded_simulator(None)
    executor = HttpExecutor(url)
    engine = engine_module.Engine(app, executor, settings, policies={"*": FAST})
    try:
        await engine.start()
        app.resume(org, job_id, "user:u-1")
        assert await settled(app, job_id) == "completed"
    finally:
        await engine.stop(grace=5)
        await executor.close()
        calls = [c.sub_step for c in runner.app[SIMULATOR].calls if c.job == job_id]
        await runner.cleanup()
    assert sorted(calls) == ["itemTags", "menuImport", "optionSets"]
