"""Shared pieces of the engine tests: restaurants, a simulator on loopback, a running engine."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.outcomes import RunEnd
from domain.retry import RetryPolicy
from infrastructure.engine import Engine, LogWorkSource
from infrastructure.engine.runner import JobRunner
from infrastructure.executors.http import HttpExecutor
from infrastructure.executors.simulator.app import SIMULATOR
from infrastructure.executors.simulator.faults import FaultSettings, SimulatorConfig
from infrastructure.executors.simulator.main import start_embedded_simulator
from infrastructure.executors.simulator.serving import Simulator
from infrastructure.settings import Settings
from infrastructure.usecases.registrations import Registrations
from tests.conftest import unique_org

FAST = RetryPolicy(
    max_attempts=3, initial_delay=0.01, multiplier=2.0, max_delay=0.05, jitter=0.0, timeout=5.0
)


def start_batch(app: Registrations, items: list[dict[str, Any]]) -> list[str]:
    """Create a batch of `items` and start Step 6 for all of it; returns the job ids."""
    org = unique_org()
    batch, jobs, _ = app.create_batch(org, "user:test", "engine test", items)
    app.start_step6(org, batch.id, None, "user:test")
    return [str(j.id) for j in jobs]


class FakeTime:
    """A Clock that moves only when something sleeps on it."""

    def __init__(self) -> None:
        self.time = 1000.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.time

    def now(self) -> datetime:
        return datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=self.time)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.time += seconds
        await asyncio.sleep(0)


class ListingReadBefore:
    """The engine's own listing of the jobs `ours` (not another test's on a shared store), plus
    the jobs of `late`: as a listing read before they settled, and answered after, names them."""

    def __init__(self, app: Registrations, ours: list[str]) -> None:
        self.source = LogWorkSource(app)
        self.ours = set(ours)
        self.late: list[str] = []

    def runnable_job_ids(self, limit: int) -> list[str]:
        listed = [j for j in self.source.runnable_job_ids(limit) if j in self.ours]
        return list(dict.fromkeys(listed + self.late))[:limit]


class RunEnds:
    """How each run of each job ended, for an engine made with `runner=ends.runner`.

    A store shared between tests holds leases that earlier tests' engines left: an engine
    takes those over and ends their runs too, so a test counts the runs of its own jobs."""

    def __init__(self) -> None:
        self.ends: dict[str, list[RunEnd]] = defaultdict(list)
        ends = self.ends

        class RecordingRunner(JobRunner):
            async def run(self) -> RunEnd:
                ended = await super().run()
                ends[self.job_id].append(ended)
                return ended

        self.runner = RecordingRunner

    def of(self, job_ids: list[str]) -> dict[str, list[str]]:
        """Each of these jobs' run ends, in order."""
        return {job_id: [str(end) for end in self.ends.get(job_id, [])] for job_id in job_ids}


@asynccontextmanager
async def simulator(config: SimulatorConfig | None = None) -> AsyncIterator[tuple[Simulator, str]]:
    """The simulated registration API on a loopback port."""
    runner, url = await start_embedded_simulator(config)
    try:
        yield runner.app[SIMULATOR], url
    finally:
        await runner.cleanup()


def faults(sim: Simulator, *rules: dict[str, Any]) -> None:
    sim.configure(FaultSettings.model_validate({"faults": list(rules)}))


@asynccontextmanager
async def running_engine(
    app: Registrations,
    settings: Settings,
    url: str,
    engine_class: type[Engine] = Engine,
    **options: Any,
) -> AsyncIterator[Engine]:
    """An engine (of `engine_class`) over HTTP to `url`, started, and stopped afterwards."""
    options.setdefault("policies", {"*": FAST})
    executor = HttpExecutor(url)
    engine = engine_class(app, executor, settings, **options)
    await engine.start()
    try:
        yield engine
    finally:
        await engine.stop(grace=5)
        await executor.close()


@asynccontextmanager
async def engine_and_simulator(
    app: Registrations,
    settings: Settings,
    latency: dict[str, float] | None = None,
    **options: Any,
) -> AsyncIterator[tuple[Simulator, Engine]]:
    """The simulated API (answering after these latencies) and an engine (made with these
    options) calling it."""
    config = SimulatorConfig(latency=latency) if latency is not None else None
    async with (
        simulator(config) as (sim, url),
        running_engine(app, settings, url, **options) as engine,
    ):
        yield sim, engine


def event_names(app: Registrations, job_id: str) -> list[str]:
    return [type(e).__name__ for e in app.events.get(app.job(job_id).id)]
